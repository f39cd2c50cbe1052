"""`keel load run --scenario latency`: one live round per rate, and latency against rate.

Each rate gets a fresh topic and fresh workers, and runs for the same time, so the rates
differ in nothing else. Every round is judged by the oracle like any live round; the sweep
keeps, per rate, the rate reached and the latency from intended send time to handler done
(p50, p90, p99, p99.9, max), and plots p50/p99/p99.9 against the rate on log scales.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keel.load.config import RunConfig
from keel.load.latency import LatencySummary
from keel.load.oracle import Verdict
from keel.load.rounds import Progress, live_round
from keel.load.topics import run_topic
from keel.schemas.settings import ClusterSettings

PLOT = "latency-vs-rate.png"


@dataclass(frozen=True)
class SweepStep:
    """One rate of the sweep: what was aimed at, what was reached, and the latency."""

    rate: float
    reached_per_s: float
    latency: LatencySummary
    verdict: Verdict
    startup: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "reached_per_s": round(self.reached_per_s, 1),
            "latency_ms": {k: round(v, 3) for k, v in asdict(self.latency).items()},
            "ok": self.verdict.ok,
            "lost": self.verdict.lost,
            "order_violations": self.verdict.order_violations,
            "startup_ms": {k: round(v, 3) for k, v in self.startup.items()},
        }


def run_sweep(
    config: RunConfig, cluster: ClusterSettings, out: Path, *, progress: Progress
) -> list[SweepStep]:
    """A live round at each of `config.rates` for `config.step_seconds` each."""
    steps = []
    for rate in config.rates:
        jobs = max(1, round(rate * config.step_seconds))
        step = config.with_overrides(rate=rate, jobs=jobs, rounds=0)
        progress.phase(f"latency at {rate:,.0f}/s")
        with run_topic(cluster, step) as topic:
            live = live_round(step, cluster, topic, out / f"rate-{rate:g}", progress=progress)
        steps.append(
            SweepStep(rate, live.rate.per_s, live.latency.summary(), live.verdict, live.startup)
        )
    return steps


def write_sweep(steps: list[SweepStep], config: RunConfig, out: Path) -> Path:
    """The table (`sweep.md`, `sweep.json`) and the plot; the Markdown's path."""
    out.mkdir(parents=True, exist_ok=True)
    data = {"scenario": config.scenario, "steps": [s.to_json() for s in steps]}
    (out / "sweep.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    _plot(steps, out / PLOT)
    lines = [
        f"# keel load run: {config.scenario} ({config.step_seconds:g} s per rate)",
        "",
        "| rate | reached | p50 | p90 | p99 | p99.9 | max | first publish | first job | oracle |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_row(step) for step in steps),
        "",
        f"![latency against rate]({PLOT})",
        "",
    ]
    path = out / "sweep.md"
    path.write_text("\n".join(lines))
    return path


def headline(steps: list[SweepStep]) -> str:
    return "\n".join(
        f"{'PASS' if s.verdict.ok else 'FAIL'} {s.rate:,.0f}/s (reached {s.reached_per_s:,.0f}/s):"
        f" p50 {s.latency.p50_ms:.1f} ms, p99 {s.latency.p99_ms:.1f} ms,"
        f" p99.9 {s.latency.p999_ms:.1f} ms, max {s.latency.max_ms:.1f} ms;"
        f" first publish {s.startup.get('first_publish_ms', 0.0):.1f} ms,"
        f" first job {s.startup.get('first_job_ms', float('nan')):.1f} ms"
        for s in steps
    )


def _row(step: SweepStep) -> str:
    lat, start = step.latency, step.startup
    cells = (
        f"{step.rate:,.0f}/s",
        f"{step.reached_per_s:,.0f}/s",
        *(f"{v:.1f} ms" for v in (lat.p50_ms, lat.p90_ms, lat.p99_ms, lat.p999_ms, lat.max_ms)),
        f"{start.get('first_publish_ms', float('nan')):.1f} ms",
        f"{start.get('first_job_ms', float('nan')):.1f} ms",
        "ok" if step.verdict.ok else f"FAIL (lost {step.verdict.lost})",
    )
    return "| " + " | ".join(cells) + " |"


def _plot(steps: list[SweepStep], path: Path) -> None:
    # Imported here: matplotlib is slow to import and only the report needs it.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    rates = [s.rate for s in steps]
    figure, axes = pyplot.subplots(figsize=(7, 4))
    for label, values in (
        ("p50", [s.latency.p50_ms for s in steps]),
        ("p99", [s.latency.p99_ms for s in steps]),
        ("p99.9", [s.latency.p999_ms for s in steps]),
    ):
        axes.plot(rates, values, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("jobs/s aimed at")
    axes.set_ylabel("intended send to handler done (ms)")
    axes.set_title("end-to-end latency against rate")
    axes.grid(visible=True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
