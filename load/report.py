"""What a run leaves behind: `summary.json` (stable keys), `report.md`, and PNG plots.

The JSON is the contract for anything that reads results (CI, a dashboard, docs): keys are only
ever added, never renamed.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from keel.load.latency import LatencySummary
from keel.load.oracle import Verdict


@dataclass(frozen=True)
class TimelinePoint:
    """One sampling interval of a run."""

    at_s: float
    completed: int
    per_s: float
    lag: int
    p99_ms: float


@dataclass(frozen=True)
class Rate:
    """Jobs run and the wall time they took."""

    jobs: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else 0.0


@dataclass
class RunSummary:
    """Everything one `keel load run` measured and judged."""

    scenario: str
    config: dict[str, Any]
    versions: dict[str, str]
    keel: Rate
    latency: LatencySummary
    verdict: Verdict
    baseline: Rate | None = None
    keel_status: Rate | None = None  # keel with every job's status, with `status_cost`
    resources: dict[str, float] = field(default_factory=dict)
    timeline: list[TimelinePoint] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    # The live round's first publish and first job (`keel.load.rounds._startup`), in ms.
    startup: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        keel_rate = self.keel.per_s
        base_rate = self.baseline.per_s if self.baseline else None
        return {
            "scenario": self.scenario,
            "ok": self.verdict.ok,
            "rates": {
                "keel_per_s": round(keel_rate, 1),
                "baseline_per_s": round(base_rate, 1) if base_rate else None,
                "ratio": round(keel_rate / base_rate, 3) if base_rate else None,
            }
            | self._status_rates(),
            "jobs": {"keel": self.keel.jobs, "seconds": round(self.keel.seconds, 3)},
            "latency_ms": {k: round(v, 3) for k, v in asdict(self.latency).items()},
            "oracle": {k: v for k, v in asdict(self.verdict).items() if k != "examples"}
            | {"ok": self.verdict.ok, "examples": self.verdict.examples},
            "resources": self.resources,
            "startup_ms": {k: round(v, 3) for k, v in self.startup.items()},
            "faults": self.faults,
            "config": self.config,
            "versions": self.versions,
            "timeline": [asdict(point) for point in self.timeline],
        }

    def _status_rates(self) -> dict[str, float]:
        """Keel's rate with job status and its ratio to keel's without, when both were run."""
        if self.keel_status is None:
            return {}
        rate = self.keel_status.per_s
        return {
            "keel_status_per_s": round(rate, 1),
            "status_ratio": round(rate / self.keel.per_s, 3) if self.keel.per_s else 0.0,
        }


def write_report(summary: RunSummary, out_dir: Path) -> list[Path]:
    """Write the JSON, the Markdown and the plots; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = summary.to_json()
    json_path = out_dir / "summary.json"
    json_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    plots = _plots(summary, out_dir)
    md_path = out_dir / "report.md"
    md_path.write_text(_markdown(data, [p.name for p in plots]))
    return [json_path, md_path, *plots]


def _markdown(data: dict[str, Any], plots: list[str]) -> str:
    rates, latency, oracle = data["rates"], data["latency_ms"], data["oracle"]
    lines = [
        f"# keel load run: {data['scenario']}",
        "",
        f"Verdict: **{'PASS' if data['ok'] else 'FAIL'}**",
        "",
        "| measure | value |",
        "|---|---|",
        f"| keel jobs/s | {rates['keel_per_s']} |",
        f"| baseline jobs/s | {rates['baseline_per_s']} |",
        f"| ratio keel / baseline | {rates['ratio']} |",
        *(
            (
                f"| keel with job status jobs/s | {rates['keel_status_per_s']} |",
                f"| ratio with status / without | {rates['status_ratio']} |",
            )
            if "status_ratio" in rates
            else ()
        ),
        *(f"| latency {name} | {value} ms |" for name, value in latency.items() if name != "count"),
        *(f"| {name} | {oracle[name]} |" for name in _ORACLE_ROWS),
        *(f"| {name} | {value:.1f} |" for name, value in data["resources"].items()),
        *(f"| startup: {name} | {value} |" for name, value in data["startup_ms"].items()),
        "",
    ]
    if data["faults"]:
        lines += ["Faults injected:", "", *(f"- {fault}" for fault in data["faults"]), ""]
    lines += [f"![{name}]({name})" for name in plots]
    lines += ["", "Configuration:", "", "```json", json.dumps(data["config"], indent=2), "```", ""]
    return "\n".join(lines)


_ORACLE_ROWS = (
    "sent",
    "completed",
    "lost",
    "duplicates",
    "order_violations",
    "runs_out_of_order",
    "runs_out_of_order_across_workers",
    "overlaps",
    "overlaps_across_workers",
    "poison_sent",
    "poison_missing",
    "unexpected_dead_letters",
)


def _plots(summary: RunSummary, out_dir: Path) -> list[Path]:
    if not summary.timeline:
        return []
    # Imported here: matplotlib is slow to import and only the report needs it.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    times = [p.at_s for p in summary.timeline]
    series = {
        "throughput.png": ("jobs/s", [p.per_s for p in summary.timeline]),
        "lag.png": ("consumer lag (records)", [float(p.lag) for p in summary.timeline]),
        "latency.png": ("p99 end-to-end latency (ms)", [p.p99_ms for p in summary.timeline]),
    }
    written = []
    for name, (label, values) in series.items():
        figure, axes = pyplot.subplots(figsize=(8, 3))
        axes.plot(times, values)
        axes.set_xlabel("seconds")
        axes.set_ylabel(label)
        axes.set_title(f"{summary.scenario}: {label}")
        figure.tight_layout()
        figure.savefig(out_dir / name, dpi=100)
        pyplot.close(figure)
        written.append(out_dir / name)
    return written
