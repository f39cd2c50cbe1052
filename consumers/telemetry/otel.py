"""keel's metrics as OpenTelemetry metrics: read at collection time, never per job.

The aggregates in `keel.consumers.telemetry.metrics` are the one source. Counters and gauges become
*observable* instruments on a `MeterProvider`, so the SDK asks for their values when it
collects (every `OTEL_METRIC_EXPORT_INTERVAL`) and the hot path never calls it. The OpenTelemetry
API has no observable histogram, so the two histograms, already bucketed here, are added to
each export by `WithHistograms`, a wrapper around the real exporter (OTLP in production), as
cumulative histogram points.

Names follow the OpenTelemetry semantic conventions where one exists, keel's own otherwise:

    keel.jobs.processed|failed|retried|dead_lettered  counter    keel.job.type
    keel.jobs.expired                                 counter    keel.job.type, keel.expiry.action
    messaging.process.duration                        histogram  keel.job.type (handler, s)
    keel.job.latency                                  histogram  keel.job.type (publish to finish)
    keel.jobs.buffered, keel.jobs.running,            up-down counters
    keel.dead_letter.blocked_partitions, keel.quarantine.keys
    keel.jobs.parked                                  counter    (key quarantine)
    keel.consumer.lag                                 gauge      messaging.destination.name,
    keel.consumer.time_lag                            gauge      messaging.destination.partition.id
    keel.circuit.state (1 for the current state)      gauge      keel.job.type, keel.circuit.state
    keel.circuit.held_jobs                            up-down    keel.job.type
    keel.circuit.transitions                          counter    keel.job.type, keel.circuit.state

Collection happens on the SDK's own thread; the engine's state lives on the event loop, so a
snapshot is taken there (`on_loop`) and shared by the instruments of one collection.
"""

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from keel.consumers.pipeline.circuit import STATES
from keel.consumers.pipeline.holds import CircuitReading
from keel.consumers.pipeline.observer import DEAD_LETTERED, FAILED, PROCESSED, RETRIED
from keel.consumers.pipeline.records import TopicPartition
from keel.consumers.telemetry.metrics import HistogramData, Snapshot
from keel.schemas.tracing import (
    JOB_TYPE,
    MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_DESTINATION_PARTITION_ID,
    MESSAGING_SYSTEM,
    SCOPE,
)

Read = Callable[[], Snapshot | None]
PROCESS_DURATION = "messaging.process.duration"
JOB_LATENCY = "keel.job.latency"
CIRCUIT_STATE = "keel.circuit.state"
EXPIRY_ACTION = "keel.expiry.action"
SNAPSHOT_TTL = 1.0  # one collection reads every instrument within this
LOOP_TIMEOUT = 5.0


def on_loop(loop: asyncio.AbstractEventLoop, read: Callable[[], Snapshot]) -> Read:
    """`read`, called on `loop`'s thread from any thread; None once the loop has stopped."""
    loop_thread = threading.get_ident()  # built on the loop's thread, by the runner

    def call() -> Snapshot | None:
        if threading.get_ident() == loop_thread:
            return read()
        if loop.is_closed() or not loop.is_running():
            return None
        done: concurrent.futures.Future[Snapshot] = concurrent.futures.Future()
        loop.call_soon_threadsafe(_fill, done, read)
        try:
            return done.result(LOOP_TIMEOUT)
        except concurrent.futures.TimeoutError:
            return None

    return call


def _fill(done: "concurrent.futures.Future[Snapshot]", read: Callable[[], Snapshot]) -> None:
    try:
        done.set_result(read())
    except Exception as error:  # handed to the waiting collector
        done.set_exception(error)


class _Shared:
    """The latest snapshot, taken again once it is older than one collection."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._taken = float("-inf")
        self._snapshot: Snapshot | None = None

    def __call__(self) -> Snapshot | None:
        with self._lock:
            if time.monotonic() - self._taken > SNAPSHOT_TTL:
                self._snapshot = self._read()
                self._taken = time.monotonic()
            return self._snapshot


class OtelMetrics:
    """Registers keel's counters and gauges as observable instruments of `provider`."""

    def __init__(self, read: Read, provider: MeterProvider, group: str) -> None:
        self._read = _Shared(read)
        self._group = group
        meter = provider.get_meter(SCOPE)
        for outcome in (PROCESSED, FAILED, RETRIED, DEAD_LETTERED):
            meter.create_observable_counter(
                f"keel.jobs.{outcome}",
                [self._counter(outcome)],
                unit="{job}",
                description=f"Jobs {outcome.replace('_', ' ')}, by job type.",
            )
        meter.create_observable_up_down_counter(
            "keel.jobs.buffered",
            [self._gauge(lambda s: s.buffered)],
            unit="{job}",
            description="Records accepted and not finished.",
        )
        meter.create_observable_up_down_counter(
            "keel.jobs.running",
            [self._gauge(lambda s: s.running)],
            unit="{job}",
            description="Handlers executing now.",
        )
        meter.create_observable_up_down_counter(
            "keel.dead_letter.blocked_partitions",
            [self._gauge(lambda s: s.blocked)],
            unit="{partition}",
            description="Partitions whose dead-letter writes fail.",
        )
        meter.create_observable_up_down_counter(
            "keel.quarantine.keys",
            [self._gauge(lambda s: s.quarantined)],
            unit="{key}",
            description="Keys held behind a dead-lettered job.",
        )
        meter.create_observable_counter(
            "keel.jobs.parked",
            [self._gauge(lambda s: s.parked)],
            unit="{job}",
            description="Jobs parked behind a quarantined key.",
        )
        meter.create_observable_gauge(
            "keel.consumer.lag",
            [self._partitions(lambda s: s.lag)],
            unit="{message}",
            description="Records between the committed offset and the partition's end.",
        )
        meter.create_observable_gauge(
            "keel.consumer.time_lag",
            [self._partitions(lambda s: s.time_lag)],
            unit="s",
            description="Age of the partition's oldest unfinished record.",
        )
        meter.create_observable_counter(
            "keel.jobs.expired",
            [self._expired],
            unit="{job}",
            description="Jobs not run because they expired before they started.",
        )
        self._circuits(meter)

    def _expired(self, _options: CallbackOptions) -> Iterable[Observation]:
        snapshot = self._read()
        if snapshot is None:
            return []
        return [
            Observation(n, {JOB_TYPE: job_type, EXPIRY_ACTION: action})
            for (job_type, action), n in snapshot.expired.items()
        ]

    def _circuits(self, meter: Meter) -> None:
        meter.create_observable_gauge(
            CIRCUIT_STATE,
            [self._by_circuit(lambda r, state: int(r.state == state))],
            description="The job type's circuit: 1 for its current state, 0 for the others.",
        )
        meter.create_observable_up_down_counter(
            "keel.circuit.held_jobs",
            [self._by_circuit(lambda r, _state: r.held, per_state=False)],
            unit="{job}",
            description="Jobs of the type held until its circuit closes.",
        )
        meter.create_observable_counter(
            "keel.circuit.transitions",
            [self._by_circuit(lambda r, state: r.transitions.get(state, 0))],
            description="Moves of the job type's circuit to the state.",
        )

    def _by_circuit(
        self, value: Callable[[CircuitReading, str], int], *, per_state: bool = True
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            snapshot = self._read()
            if snapshot is None:
                return []
            return [
                Observation(value(reading, state), _circuit_attributes(job_type, state, per_state))
                for job_type, reading in snapshot.circuits.items()
                for state in (STATES if per_state else STATES[:1])
            ]

        return observe

    def _counter(self, outcome: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            snapshot = self._read()
            if snapshot is None:
                return []
            return [
                Observation(n, {JOB_TYPE: job_type})
                for (job_type, kind), n in snapshot.counts.items()
                if kind == outcome
            ]

        return observe

    def _gauge(
        self, value: Callable[[Snapshot], int]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            snapshot = self._read()
            return [] if snapshot is None else [Observation(value(snapshot))]

        return observe

    def _partitions(
        self, values: Callable[[Snapshot], Mapping[TopicPartition, float]]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            snapshot = self._read()
            if snapshot is None:
                return []
            return [
                Observation(value, self._partition_attributes(tp))
                for tp, value in values(snapshot).items()
            ]

        return observe

    def _partition_attributes(self, tp: TopicPartition) -> dict[str, str]:
        return {
            MESSAGING_SYSTEM: "kafka",
            MESSAGING_CONSUMER_GROUP_NAME: self._group,
            MESSAGING_DESTINATION_NAME: tp[0],
            MESSAGING_DESTINATION_PARTITION_ID: str(tp[1]),
        }


def _circuit_attributes(job_type: str, state: str, per_state: bool) -> dict[str, str]:
    return {JOB_TYPE: job_type, CIRCUIT_STATE: state} if per_state else {JOB_TYPE: job_type}


class WithHistograms(MetricExporter):
    """An exporter that adds keel's histograms to every batch it passes to `inner`."""

    def __init__(self, inner: MetricExporter, read: Read, group: str, resource: Resource) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._read = read
        self._group = group
        self._resource = resource

    def export(
        self,
        metrics_data: MetricsData,
        timeout_millis: float = 10_000,
        **kwargs: object,
    ) -> MetricExportResult:
        snapshot = self._read()
        if snapshot is not None:
            metrics_data = self._with(metrics_data, self._histograms(snapshot))
        return self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)

    def _histograms(self, snapshot: Snapshot) -> list[Metric]:
        start = int(snapshot.started * 1e9)
        now = time.time_ns()
        return [
            Metric(
                name=name,
                description=description,
                unit="s",
                data=Histogram(
                    data_points=[
                        self._point(job_type, data, start, now)
                        for job_type, data in sorted(found.items())
                    ],
                    aggregation_temporality=AggregationTemporality.CUMULATIVE,
                ),
            )
            for name, description, found in (
                (PROCESS_DURATION, "Handler time per attempt.", snapshot.durations),
                (JOB_LATENCY, "Publish to finish of processed jobs.", snapshot.latencies),
            )
            if found
        ]

    def _point(
        self, job_type: str, data: HistogramData, start: int, now: int
    ) -> HistogramDataPoint:
        return HistogramDataPoint(
            attributes={
                JOB_TYPE: job_type,
                MESSAGING_SYSTEM: "kafka",
                MESSAGING_CONSUMER_GROUP_NAME: self._group,
            },
            start_time_unix_nano=start,
            time_unix_nano=now,
            count=data.count,
            sum=data.total,
            bucket_counts=list(data.buckets),
            explicit_bounds=list(data.bounds),
            # Not kept (see telemetry.metrics): OTLP leaves both optional, None sends neither.
            min=None,  # type: ignore[arg-type]
            max=None,  # type: ignore[arg-type]
        )

    def _with(self, metrics_data: MetricsData, extra: Sequence[Metric]) -> MetricsData:
        if not extra:
            return metrics_data
        resources = list(metrics_data.resource_metrics)
        if not resources:
            scope = ScopeMetrics(InstrumentationScope(SCOPE), list(extra), "")
            return MetricsData([ResourceMetrics(self._resource, [scope], "")])
        first = resources[0]
        resources[0] = ResourceMetrics(
            first.resource, _merged(first.scope_metrics, extra), first.schema_url
        )
        return MetricsData(resources)


def _merged(scopes: Sequence[ScopeMetrics], extra: Sequence[Metric]) -> list[ScopeMetrics]:
    """`scopes` with `extra` added to keel's own scope.

    Into it, not beside it: the OTLP encoder keys scopes by name and version, so a second
    "keel" scope in one resource would replace the first on the wire, and the observable
    instruments would never reach the collector.
    """
    merged = list(scopes)
    for index, scope in enumerate(merged):
        if scope.scope.name == SCOPE:
            merged[index] = ScopeMetrics(scope.scope, [*scope.metrics, *extra], scope.schema_url)
            return merged
    return [*merged, ScopeMetrics(InstrumentationScope(SCOPE), list(extra), "")]
