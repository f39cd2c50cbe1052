"""End-to-end latency, recorded in an HDR histogram so the tail is exact and the memory fixed.

Latency runs from a job's *intended* send time (stamped by the open-loop producer before it
tries to send) to the moment its handler finished, so a producer that falls behind shows up as
latency instead of hiding it (no coordinated omission).
"""

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

_LOWEST_US = 1
_HIGHEST_US = 3_600_000_000  # one hour
_SIGNIFICANT_DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles and max in milliseconds, keyed for the JSON report."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float


class LatencyRecorder:
    """Collects latencies in microseconds; merge recorders from several workers with `add`."""

    def __init__(self) -> None:
        self.histogram = HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT_DIGITS)

    def record_ns(self, intended_ns: int, done_ns: int) -> None:
        micros = max(_LOWEST_US, (done_ns - intended_ns) // 1000)
        self.histogram.record_value(min(micros, _HIGHEST_US))

    def add(self, other: "LatencyRecorder") -> None:
        self.histogram.add(other.histogram)

    def summary(self) -> LatencySummary:
        h = self.histogram
        p50, p90, p99, p999 = (h.get_value_at_percentile(p) / 1000 for p in PERCENTILES)
        return LatencySummary(h.get_total_count(), p50, p90, p99, p999, h.get_max_value() / 1000)
