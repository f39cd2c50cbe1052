"""The soak's figures, computed from its samples: memory growth, peak memory, lag trend, tail.

Pure functions over the samples the monitor took, so a table test covers every rule:

- a worker's RSS *after warm-up* is the median of its samples in the window that starts when
  the warm-up (the first fifth of the run) ends; its RSS *at the end* is the median of its last
  samples (the same window length). Medians, so one sample taken mid-collection does not decide.
- growth is end against after-warm-up, in percent of after-warm-up;
- the lag trend is the least-squares slope of the group's lag after warm-up, in records per
  minute: a worker that keeps up has a slope near zero, one that falls behind a steady rise.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from keel.load.report import TimelinePoint
from keel.load.resources import ProcessSample

WARM_UP_FRACTION = 0.2
WINDOW_FRACTION = 0.1
RSS_GROWTH_TARGET_PCT = 10.0
RSS_MAX_TARGET_MB = 200.0


@dataclass(frozen=True)
class WorkerMemory:
    """One worker process over the soak."""

    pid: int
    samples: int
    rss_after_warm_up_mb: float
    rss_end_mb: float
    rss_max_mb: float
    cpu_mean_percent: float

    @property
    def growth_pct(self) -> float:
        base = self.rss_after_warm_up_mb
        return (self.rss_end_mb - base) / base * 100 if base > 0 else 0.0


@dataclass(frozen=True)
class LagTrend:
    """The group's lag after warm-up: where it started and ended, its peak and its slope."""

    after_warm_up: int
    end: int
    max: int
    slope_per_min: float


@dataclass(frozen=True)
class TailWindows:
    """The p99 of each sampling window that completed jobs, after warm-up."""

    windows: int
    median_ms: float
    max_ms: float


def worker_memory(samples: Sequence[ProcessSample], warm_up_s: float) -> list[WorkerMemory]:
    """Per worker pid, in order of first appearance."""
    by_pid: dict[int, list[ProcessSample]] = {}
    for sample in sorted(samples, key=lambda s: s.at_s):
        by_pid.setdefault(sample.pid, []).append(sample)
    return [_memory(pid, own, warm_up_s) for pid, own in by_pid.items()]


def _memory(pid: int, samples: list[ProcessSample], warm_up_s: float) -> WorkerMemory:
    span = samples[-1].at_s - samples[0].at_s
    window = max(span * WINDOW_FRACTION, 1e-9)
    after = [s for s in samples if warm_up_s <= s.at_s < warm_up_s + window] or samples[:1]
    end = [s for s in samples if s.at_s >= samples[-1].at_s - window]
    return WorkerMemory(
        pid=pid,
        samples=len(samples),
        rss_after_warm_up_mb=statistics.median(s.rss_mb for s in after),
        rss_end_mb=statistics.median(s.rss_mb for s in end),
        rss_max_mb=max(s.rss_mb for s in samples),
        # The first sample of a process only sets psutil's CPU baseline (it reads 0).
        cpu_mean_percent=statistics.fmean(s.cpu_percent for s in samples[1:] or samples),
    )


def lag_trend(timeline: Sequence[TimelinePoint], warm_up_s: float) -> LagTrend:
    """The lag after warm-up; samples where the lag could not be read (-1) are left out."""
    points = [p for p in timeline if p.at_s >= warm_up_s and p.lag >= 0]
    if not points:
        return LagTrend(0, 0, 0, 0.0)
    return LagTrend(
        after_warm_up=points[0].lag,
        end=points[-1].lag,
        max=max(p.lag for p in points),
        slope_per_min=_slope([p.at_s for p in points], [float(p.lag) for p in points]) * 60,
    )


def tail_windows(timeline: Sequence[TimelinePoint], warm_up_s: float) -> TailWindows:
    p99s = [p.p99_ms for p in timeline if p.at_s >= warm_up_s and p.per_s > 0]
    if not p99s:
        return TailWindows(0, 0.0, 0.0)
    return TailWindows(len(p99s), statistics.median(p99s), max(p99s))


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(xs) < 2 or len(set(xs)) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope
