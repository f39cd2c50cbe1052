"""`/metrics`: the worker's metrics in the Prometheus text format, rendered by prometheus_client.

The numbers are `keel.consumers.telemetry.metrics`' snapshot; prometheus_client only writes them
out, on request, so scraping costs nothing between scrapes. Names and labels (the Grafana dashboard
and deploy/README.md use them):

    keel_jobs_{processed,failed,retried,dead_lettered}_total  {job_type}
    keel_jobs_expired_total                {job_type, action}  not run: past `keel-expires-at`
    keel_job_duration_seconds (histogram)                     {job_type}  handler time
    keel_job_latency_seconds (histogram)                      {job_type}  publish to finish
    keel_jobs_buffered, keel_jobs_running, keel_dead_letter_blocked_partitions
    keel_quarantined_keys, keel_jobs_parked_total               key quarantine
    keel_consumer_lag                                          {topic, partition}  records
    keel_consumer_time_lag_seconds                             {topic, partition}
    keel_circuit_state                      {job_type, state}  1 for the current state
    keel_circuit_held_jobs                  {job_type}         jobs waiting for it to close
    keel_circuit_transitions_total          {job_type, state}  moves to that state
"""

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from keel.consumers.pipeline.circuit import STATES
from keel.consumers.pipeline.holds import CircuitReading
from keel.consumers.pipeline.observer import DEAD_LETTERED, FAILED, PROCESSED, RETRIED
from keel.consumers.pipeline.records import TopicPartition
from keel.consumers.telemetry.metrics import HistogramData, Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OUTCOMES = (PROCESSED, FAILED, RETRIED, DEAD_LETTERED)


class PrometheusView:
    """A prometheus_client collector over `snapshot`, in a registry of its own."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def render(self) -> str:
        return generate_latest(self._registry).decode()

    def collect(self) -> Iterator[Metric]:
        snapshot = self._snapshot()
        for outcome in _OUTCOMES:
            counter = CounterMetricFamily(
                f"keel_jobs_{outcome}", f"Jobs {outcome.replace('_', ' ')}.", labels=["job_type"]
            )
            for (job_type, kind), n in sorted(snapshot.counts.items()):
                if kind == outcome:
                    counter.add_metric([job_type], n)
            yield counter
        yield GaugeMetricFamily(
            "keel_jobs_buffered", "Records accepted and not finished.", value=snapshot.buffered
        )
        yield GaugeMetricFamily(
            "keel_jobs_running", "Handlers executing now.", value=snapshot.running
        )
        yield GaugeMetricFamily(
            "keel_dead_letter_blocked_partitions",
            "Partitions whose dead-letter writes fail.",
            value=snapshot.blocked,
        )
        yield GaugeMetricFamily(
            "keel_quarantined_keys",
            "Keys held behind a dead-lettered job on this worker's partitions.",
            value=snapshot.quarantined,
        )
        yield CounterMetricFamily(
            "keel_jobs_parked",
            "Jobs parked in the dead-letter topic behind a quarantined key.",
            value=snapshot.parked,
        )
        yield _expired(snapshot.expired)
        yield _histogram(
            "keel_job_duration_seconds", "Handler time per attempt.", snapshot.durations
        )
        yield _histogram(
            "keel_job_latency_seconds",
            "Publish to finish of processed jobs, one in 8 sampled (from the record timestamp).",
            snapshot.latencies,
        )
        yield _by_partition(
            "keel_consumer_lag", "Records behind the partition's end.", snapshot.lag
        )
        yield _by_partition(
            "keel_consumer_time_lag_seconds",
            "Age of the oldest unfinished record of the partition.",
            snapshot.time_lag,
        )
        yield from _circuits(snapshot.circuits)

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: the names are fixed above


def _histogram(name: str, text: str, found: Mapping[str, HistogramData]) -> Metric:
    family = HistogramMetricFamily(name, text, labels=["job_type"])
    for job_type, data in sorted(found.items()):
        cumulative, buckets = 0, []
        for bound, n in zip((*data.bounds, float("inf")), data.buckets, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        family.add_metric([job_type], buckets, data.total)
    return family


def _expired(found: Mapping[tuple[str, str], int]) -> Metric:
    family = CounterMetricFamily(
        "keel_jobs_expired",
        "Jobs not run because they expired before they started, by what became of them.",
        labels=["job_type", "action"],
    )
    for (job_type, action), n in sorted(found.items()):
        family.add_metric([job_type, action], n)
    return family


def _circuits(found: Mapping[str, CircuitReading]) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "keel_circuit_state",
        "The job type's circuit: 1 for its current state (closed, open, half_open).",
        labels=["job_type", "state"],
    )
    held = GaugeMetricFamily(
        "keel_circuit_held_jobs",
        "Jobs of the type held until its circuit closes.",
        labels=["job_type"],
    )
    moves = CounterMetricFamily(
        "keel_circuit_transitions",
        "Moves of the job type's circuit to the state.",
        labels=["job_type", "state"],
    )
    for job_type, reading in sorted(found.items()):
        held.add_metric([job_type], reading.held)
        for name in STATES:
            state.add_metric([job_type, name], 1 if reading.state == name else 0)
            moves.add_metric([job_type, name], reading.transitions.get(name, 0))
    yield from (state, held, moves)


def _by_partition(name: str, text: str, found: Mapping[TopicPartition, float]) -> Metric:
    family = GaugeMetricFamily(name, text, labels=["topic", "partition"])
    for (topic, partition), value in sorted(found.items()):
        family.add_metric([topic, str(partition)], value)
    return family
