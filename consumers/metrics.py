"""Prometheus metrics of a worker, kept as plain counters and rendered on request.

An `Observer`: the engine reports attempts and dead letters, this counts them by job type. In
flight and the dead-letter health are read from the engine when `/metrics` is scraped, so the
hot path only increments a dict entry and a histogram bucket.
"""

import bisect
from collections import defaultdict
from collections.abc import Callable

from consumers.context import Context
from consumers.middleware import DEAD_LETTERED, FAILED, PROCESSED, RETRIED
from consumers.pipeline.records import Message

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_OUTCOMES = {PROCESSED: "processed", FAILED: "failed", RETRIED: "retried"}


class _Histogram:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.count += 1
        self.total += seconds


class Metrics:
    """Counts jobs by type and outcome; renders the Prometheus text format."""

    def __init__(
        self,
        in_flight: Callable[[], int] = lambda: 0,
        blocked: Callable[[], int] = lambda: 0,
    ) -> None:
        self._counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._durations: defaultdict[str, _Histogram] = defaultdict(_Histogram)
        self._in_flight = in_flight
        self._blocked = blocked

    def bound(self, in_flight: Callable[[], int], blocked: Callable[[], int]) -> "Metrics":
        """These metrics, reading their gauges from `in_flight` and `blocked`."""
        self._in_flight = in_flight
        self._blocked = blocked
        return self

    def attempt_started(self, record: Message, context: Context) -> None:
        pass

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Message | None = None,
        error: BaseException | None = None,
    ) -> None:
        self._counts[(job_type, outcome)] += 1
        self._durations[job_type].observe(seconds)

    def dead_lettered(self, job_type: str, reason: str) -> None:
        self._counts[(job_type, DEAD_LETTERED)] += 1

    def count(self, job_type: str, outcome: str) -> int:
        return self._counts.get((job_type, outcome), 0)

    def total(self, outcome: str) -> int:
        return sum(n for (_type, kind), n in self._counts.items() if kind == outcome)

    def render(self) -> str:
        lines: list[str] = []
        for outcome in (PROCESSED, FAILED, RETRIED, DEAD_LETTERED):
            name = f"keel_jobs_{outcome}_total"
            lines += [f"# HELP {name} Jobs {outcome.replace('_', ' ')}.", f"# TYPE {name} counter"]
            for (job_type, kind), n in sorted(self._counts.items()):
                if kind == outcome:
                    lines.append(f'{name}{{job_type="{job_type}"}} {n}')
        lines += [
            "# HELP keel_jobs_in_flight Records accepted and not finished.",
            "# TYPE keel_jobs_in_flight gauge",
            f"keel_jobs_in_flight {self._in_flight()}",
            "# HELP keel_dead_letter_blocked_partitions Partitions whose dead-letter writes fail.",
            "# TYPE keel_dead_letter_blocked_partitions gauge",
            f"keel_dead_letter_blocked_partitions {self._blocked()}",
        ]
        lines += self._render_durations()
        return "\n".join(lines) + "\n"

    def _render_durations(self) -> list[str]:
        name = "keel_job_duration_seconds"
        lines = [f"# HELP {name} Handler time per attempt.", f"# TYPE {name} histogram"]
        for job_type, histogram in sorted(self._durations.items()):
            label = f'job_type="{job_type}"'
            cumulative = 0
            for bound, n in zip((*BUCKETS, float("inf")), histogram.buckets, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'{name}_bucket{{{label},le="{le}"}} {cumulative}')
            lines.append(f"{name}_sum{{{label}}} {histogram.total}")
            lines.append(f"{name}_count{{{label}}} {histogram.count}")
        return lines
