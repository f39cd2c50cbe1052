"""The soak's report: `soak.json` (the figures and every sample), `soak.md`, `soak.png`.

The plot has four panels over time: each worker's RSS and CPU, the group's lag, and the p99 of
each sampling window, with the warm-up shaded. The targets are the issue's: RSS growth after
warm-up under 10 %, at most 200 MB per worker (during the soak and with the buffer full).
"""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from keel.load.soak import SoakRun
from keel.load.soak_figures import (
    RSS_GROWTH_TARGET_PCT,
    RSS_MAX_TARGET_MB,
    WARM_UP_FRACTION,
    lag_trend,
    tail_windows,
    worker_memory,
)

PLOT = "soak.png"


def soak_summary(run: SoakRun) -> dict[str, Any]:
    """The figures of a soak, with the targets met or not, as stable JSON keys."""
    live, config = run.live, run.config
    warm_up_s = producing_began_s(run) + config.duration_s * WARM_UP_FRACTION
    workers = worker_memory(live.resource_samples, warm_up_s)
    buffered = asdict(run.buffered) if run.buffered is not None else None
    growth = max((w.growth_pct for w in workers), default=0.0)
    peak = max((w.rss_max_mb for w in workers), default=0.0)
    return {
        "scenario": config.scenario,
        "ok": live.verdict.ok,
        "rate": round(config.rate, 1),
        "calibrated_max_per_s": _rounded(run.calibrated_max_per_s),
        "duration_s": config.duration_s,
        "warm_up_s": warm_up_s,
        "jobs": config.jobs,
        "workers": [asdict(w) | {"growth_pct": round(w.growth_pct, 2)} for w in workers],
        "lag": asdict(lag_trend(live.timeline, warm_up_s)),
        "p99_windows": asdict(tail_windows(live.timeline, warm_up_s)),
        "latency_ms": asdict(live.latency.summary()),
        "buffered": buffered,
        "targets": {
            "rss_growth_pct": round(growth, 2),
            "rss_growth_ok": growth < RSS_GROWTH_TARGET_PCT,
            "rss_max_mb": round(peak, 1),
            "rss_max_ok": peak <= RSS_MAX_TARGET_MB,
            "buffered_rss_ok": buffered is None or buffered["rss_mb"] <= RSS_MAX_TARGET_MB,
        },
        "oracle": {k: v for k, v in asdict(live.verdict).items() if k != "examples"},
    }


def producing_began_s(run: SoakRun) -> float:
    """When the producer started, on the monitor's clock: one interval before its first sample.

    The monitor's clock starts before the workers are ready; the warm-up counts from the
    first job sent.
    """
    timeline = run.live.timeline
    return max(0.0, timeline[0].at_s - run.config.sample_every_s) if timeline else 0.0


def write_soak(run: SoakRun, out: Path) -> Path:
    """Write the three files; the Markdown's path."""
    out.mkdir(parents=True, exist_ok=True)
    summary = soak_summary(run)
    raw = {
        "timeline": [asdict(p) for p in run.live.timeline],
        "resource_samples": [asdict(s) for s in run.live.resource_samples],
    }
    (out / "soak.json").write_text(json.dumps(summary | raw, indent=2, sort_keys=True) + "\n")
    _plot(run, (producing_began_s(run), summary["warm_up_s"]), out / PLOT)
    path = out / "soak.md"
    path.write_text(_markdown(summary))
    return path


def headline(summary: dict[str, Any]) -> str:
    targets, lag, tail = summary["targets"], summary["lag"], summary["p99_windows"]
    buffered = summary["buffered"]
    held = f"; {buffered['held']:,} buffered: {buffered['rss_mb']:.1f} MB" if buffered else ""
    return (
        f"{'PASS' if summary['ok'] else 'FAIL'} soak at {summary['rate']:,.0f}/s for "
        f"{summary['duration_s']:g} s: RSS growth {targets['rss_growth_pct']:.1f} %, "
        f"max {targets['rss_max_mb']:.1f} MB{held}; lag slope {lag['slope_per_min']:.1f}/min, "
        f"max {lag['max']}; p99 per window median {tail['median_ms']:.1f} ms, "
        f"max {tail['max_ms']:.1f} ms; lost {summary['oracle']['lost']}, "
        f"order violations {summary['oracle']['order_violations']}"
    )


def _markdown(summary: dict[str, Any]) -> str:
    targets, lag, tail, lat = (
        summary["targets"],
        summary["lag"],
        summary["p99_windows"],
        summary["latency_ms"],
    )
    lines = [
        f"# keel load run: soak ({summary['duration_s']:g} s at {summary['rate']:,.1f} jobs/s)",
        "",
        f"Verdict: **{'PASS' if summary['ok'] else 'FAIL'}** (oracle); calibrated maximum: "
        f"{_calibrated(summary['calibrated_max_per_s'])}; warm-up ends at "
        f"{summary['warm_up_s']:.0f} s (the first fifth of the soak).",
        "",
        "| worker | RSS after warm-up | RSS at end | growth | max RSS | mean CPU |",
        "|---|---|---|---|---|---|",
        *(
            f"| {w['pid']} | {w['rss_after_warm_up_mb']:.1f} MB | {w['rss_end_mb']:.1f} MB | "
            f"{w['growth_pct']:.2f} % | {w['rss_max_mb']:.1f} MB | {w['cpu_mean_percent']:.0f} % |"
            for w in summary["workers"]
        ),
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| RSS growth after warm-up (worst worker) | {targets['rss_growth_pct']} % | < 10 % "
        f"{_met(targets['rss_growth_ok'])} |",
        f"| max RSS (any worker) | {targets['rss_max_mb']} MB | <= 200 MB "
        f"{_met(targets['rss_max_ok'])} |",
        *_buffered_row(summary["buffered"], targets["buffered_rss_ok"]),
        f"| lag after warm-up / at end / max | {lag['after_warm_up']} / {lag['end']} / "
        f"{lag['max']} | |",
        f"| lag trend | {lag['slope_per_min']:.1f} records/min | |",
        f"| p99 per window (median / max of {tail['windows']}) | {tail['median_ms']:.1f} / "
        f"{tail['max_ms']:.1f} ms | |",
        f"| whole run p50 / p99 / p99.9 / max | {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} / "
        f"{lat['p999_ms']:.1f} / {lat['max_ms']:.1f} ms | |",
        *(f"| {name} | {value} | |" for name, value in summary["oracle"].items()),
        "",
        f"![RSS, CPU, lag and p99 over time]({PLOT})",
        "",
    ]
    return "\n".join(lines)


def _buffered_row(buffered: dict[str, Any] | None, ok: bool) -> list[str]:
    if buffered is None:
        return []
    return [
        f"| RSS with {buffered['held']:,} records buffered | {buffered['rss_mb']:.1f} MB | "
        f"<= 200 MB {_met(ok)} |"
    ]


def _calibrated(per_s: float | None) -> str:
    return f"{per_s:,.0f} jobs/s" if per_s is not None else "not measured (--rate given)"


def _met(ok: bool) -> str:
    return "(met)" if ok else "(**missed**)"


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _plot(run: SoakRun, warm_up: tuple[float, float], path: Path) -> None:
    # Imported here: matplotlib is slow to import and only the report needs it.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    figure, axes = pyplot.subplots(4, 1, figsize=(9, 10), sharex=True)
    by_pid: dict[int, list[tuple[float, float, float]]] = {}
    for s in run.live.resource_samples:
        by_pid.setdefault(s.pid, []).append((s.at_s, s.rss_mb, s.cpu_percent))
    for pid, points in by_pid.items():
        times = [p[0] for p in points]
        axes[0].plot(times, [p[1] for p in points], label=f"worker {pid}")
        axes[1].plot(times, [p[2] for p in points], label=f"worker {pid}")
    timeline = run.live.timeline
    times = [p.at_s for p in timeline]
    axes[2].plot(times, [max(p.lag, 0) for p in timeline])
    axes[3].plot(times, [p.p99_ms for p in timeline])
    labels = ("RSS (MB)", "CPU (% of a core)", "lag (records)", "p99 per window (ms)")
    for ax, label in zip(axes, labels, strict=True):
        ax.set_ylabel(label)
        ax.axvspan(*warm_up, color="grey", alpha=0.15)
        ax.grid(visible=True, alpha=0.3)
    if by_pid:
        axes[0].legend(fontsize="small")
    axes[-1].set_xlabel("seconds (warm-up shaded)")
    figure.suptitle(f"soak at {run.config.rate:,.0f} jobs/s")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
