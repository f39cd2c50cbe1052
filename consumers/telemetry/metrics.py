"""A worker's metrics, kept as plain in-process aggregates: the one source both exporters read.

An `Observer`: the engine reports attempts and dead letters, this counts them by job type and
adds each attempt's handler time, and each processed job's end-to-end latency (from the
record's timestamp, which the producer sets when it publishes, to finish), to a histogram of
fixed buckets. The timestamp and not the `keel-created-at` header: it costs one call instead of
a walk through the headers, and a replayed dead letter (a new record) counts from its replay. The
hot path only increments dict entries and a bucket, well under a microsecond a job; reading
the gauges (buffered, running, blocked partitions, consumer lag, time lag) is left to scrape time.

`snapshot()` copies all of it at once, on the event loop thread where the engine lives;
`telemetry.prometheus` renders it for `/metrics` and `telemetry.otel` hands it to OpenTelemetry.
Measured against the OpenTelemetry SDK's own instruments (`Counter.add`, `Histogram.record`, about
1-3 us each with attributes, three of them a job), keeping the aggregates here and exporting them at
collection time is what keeps metrics within the framework's per-job budget (see
docs/benchmarks.md)."""

import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from keel.consumers.pipeline.holds import CircuitReading
from keel.consumers.pipeline.observer import DEAD_LETTERED, PROCESSED, Attempt, NoObserver
from keel.consumers.pipeline.records import TopicPartition

DURATION_BUCKETS = (
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# Publish to finish includes the wait in the topic, so it reaches further than handler time.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
    3600.0,
)  # fmt: skip
BUCKETS = DURATION_BUCKETS
# One processed job in this many has its end-to-end latency observed (see `_TypeStats`).
LATENCY_SAMPLE_EVERY = 8


class _Histogram:
    """Counts per bucket and their sum (updated by `_TypeStats.observe`); the rest at scrape time.

    No min and max: they are optional in OTLP, absent from Prometheus, and keeping them cost
    as much per job as the rest of the histogram.
    """

    __slots__ = ("bounds", "buckets", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.buckets = [0] * (len(bounds) + 1)
        self.total = 0.0

    @property
    def count(self) -> int:
        return sum(self.buckets)

    def frozen(self) -> "HistogramData":
        buckets = tuple(self.buckets)
        return HistogramData(self.bounds, buckets, sum(buckets), self.total)


class _TypeStats:
    """The counts and histograms of one job type, found with one lookup per job."""

    __slots__ = ("counts", "duration", "every", "latency", "to_skip")

    def __init__(self, every: int) -> None:
        self.counts: defaultdict[str, int] = defaultdict(int)  # outcome -> jobs
        self.duration = _Histogram(DURATION_BUCKETS)
        self.latency = _Histogram(LATENCY_BUCKETS)
        self.every = every
        self.to_skip = 0  # processed jobs to pass over before the next latency sample


@dataclass(frozen=True, slots=True)
class HistogramData:
    """One histogram as counted so far: counts per bucket (the last one above every bound)."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int
    total: float


@dataclass(frozen=True)
class Readings:
    """Where the gauges are read from, at scrape time, on the loop thread."""

    buffered: Callable[[], int] = lambda: 0
    running: Callable[[], int] = lambda: 0
    blocked: Callable[[], int] = lambda: 0
    quarantined: Callable[[], int] = lambda: 0  # keys held (see pipeline/quarantine.py)
    parked: Callable[[], int] = lambda: 0  # records parked since the worker started
    lag: Callable[[], Mapping[TopicPartition, int]] = dict
    time_lag: Callable[[], Mapping[TopicPartition, float]] = dict
    circuits: Callable[[], Mapping[str, CircuitReading]] = dict


@dataclass(frozen=True)
class Snapshot:
    """Every metric at one moment, by job type or by partition."""

    counts: Mapping[tuple[str, str], int]  # (job type, outcome) -> jobs
    durations: Mapping[str, HistogramData]  # job type -> handler seconds per attempt
    latencies: Mapping[str, HistogramData]  # job type -> publish-to-finish seconds
    buffered: int = 0  # records accepted and not finished
    running: int = 0  # handlers executing
    blocked: int = 0
    quarantined: int = 0
    parked: int = 0
    lag: Mapping[TopicPartition, int] = field(default_factory=dict)
    time_lag: Mapping[TopicPartition, float] = field(default_factory=dict)
    circuits: Mapping[str, CircuitReading] = field(default_factory=dict)  # job type -> circuit
    expired: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (type, action) -> jobs
    started: float = 0.0  # epoch seconds when counting began


class Metrics(NoObserver):
    """Counts jobs by type and outcome, with duration and latency histograms."""

    scoped = False

    def __init__(
        self,
        readings: Readings | None = None,
        latency_every: int = LATENCY_SAMPLE_EVERY,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`latency_every`: observe the latency of one processed job in this many.

        `clock` gives the epoch seconds a latency ends at (a test fixes it, to know the value).
        """
        self._types: dict[str, _TypeStats] = {}
        self._expired: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._latency_every = max(latency_every, 1)
        self._readings = readings or Readings()
        self._clock = clock
        self.started = clock()

    def bound(self, readings: Readings) -> "Metrics":
        """These metrics, reading their gauges from `readings`."""
        self._readings = readings
        return self

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Attempt | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Count the attempt, its handler time, and for a processed record its latency.

        Written out in one function rather than in calls: this runs for every job. Latency
        is sampled, the first processed job of a type and every `every`th after it: reading a
        record's timestamp when its job ends (long after the record was decoded, so out of the
        CPU caches) cost a no-op job about 1 µs, 5% of the worker's whole time per job; one in
        eight costs an eighth of that.
        """
        stats = self._types.get(job_type) or self._new_type(job_type)
        stats.counts[outcome] += 1
        duration = stats.duration
        duration.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
        duration.total += seconds
        if outcome != PROCESSED or record is None:
            return
        if stats.to_skip:
            stats.to_skip -= 1
            return
        stats.to_skip = stats.every - 1
        published_ms = record.message.timestamp()[1]
        if published_ms > 0:  # else a record without a timestamp: no latency to tell
            latency = max(self._clock() - published_ms / 1000, 0.0)
            histogram = stats.latency
            histogram.buckets[bisect_left(LATENCY_BUCKETS, latency)] += 1
            histogram.total += latency

    def dead_lettered(self, job_type: str, reason: str) -> None:
        stats = self._types.get(job_type) or self._new_type(job_type)
        stats.counts[DEAD_LETTERED] += 1

    def expired(self, job_type: str, action: str) -> None:
        self._expired[job_type, action] += 1

    def _new_type(self, job_type: str) -> _TypeStats:
        stats = self._types[job_type] = _TypeStats(self._latency_every)
        return stats

    def count(self, job_type: str, outcome: str) -> int:
        stats = self._types.get(job_type)
        return 0 if stats is None else stats.counts.get(outcome, 0)

    def total(self, outcome: str) -> int:
        return sum(stats.counts.get(outcome, 0) for stats in self._types.values())

    def snapshot(self) -> Snapshot:
        """A copy of everything counted and the gauges read now (call on the loop thread)."""
        readings = self._readings
        return Snapshot(
            counts={
                (name, outcome): n
                for name, stats in self._types.items()
                for outcome, n in stats.counts.items()
            },
            durations={name: t.duration.frozen() for name, t in self._types.items()},
            latencies={
                name: t.latency.frozen() for name, t in self._types.items() if t.latency.count
            },
            buffered=readings.buffered(),
            running=readings.running(),
            blocked=readings.blocked(),
            quarantined=readings.quarantined(),
            parked=readings.parked(),
            lag=dict(readings.lag()),
            time_lag=dict(readings.time_lag()),
            circuits=dict(readings.circuits()),
            expired=dict(self._expired),
            started=self.started,
        )
