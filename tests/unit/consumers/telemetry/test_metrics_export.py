"""The worker's metrics: one set of aggregates, read by Prometheus and by OpenTelemetry."""

import json
import time

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Histogram,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers import App, Context
from keel.consumers.pipeline.observer import DEAD_LETTERED, PROCESSED
from keel.consumers.pipeline.offsets import PartitionOffsets
from keel.consumers.pipeline.partition import PartitionState
from keel.consumers.telemetry.lag import ConsumerLag, partition_lag
from keel.consumers.telemetry.metrics import Metrics, Readings
from keel.consumers.telemetry.otel import OtelMetrics, WithHistograms
from keel.consumers.telemetry.prometheus import PrometheusView
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of

SEND_EMAIL = "keel.jobs.SendEmail"
LAG = {("jobs.email", 0): 42, ("jobs.email", 1): 0}
TIME_LAG = {("jobs.email", 0): 3.5, ("jobs.email", 1): 0.0}
NOW_MS = 1_750_000_000_000  # what the metrics' clock reads in these tests (epoch ms)


class Step(Job):
    n: int


CATALOG = catalog_of(Step)


class _Record:
    """A consumed record, and its attempt's end, as far as metrics read them."""

    @property
    def message(self) -> "_Record":
        return self

    def __init__(self, timestamp_ms: int, offset: int = 0) -> None:
        self._timestamp = timestamp_ms
        self._offset = offset

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp)


def now() -> float:
    """The metrics' clock in these tests: latencies are exact, however late a test runs."""
    return NOW_MS / 1000


def counted() -> Metrics:
    metrics = Metrics(
        Readings(buffered=lambda: 3, lag=lambda: LAG, time_lag=lambda: TIME_LAG),
        latency_every=1,
        clock=now,
    )
    metrics.attempt_ended(SEND_EMAIL, PROCESSED, 0.003, _Record(NOW_MS - 2_000))  # type: ignore[arg-type]
    metrics.attempt_ended(SEND_EMAIL, PROCESSED, 0.02, _Record(NOW_MS - 200))  # type: ignore[arg-type]
    metrics.dead_lettered(SEND_EMAIL, "invalid-job")
    return metrics


def test_latency_is_sampled_from_the_first_processed_job_on() -> None:
    metrics = Metrics(latency_every=4, clock=now)
    for n in range(9):  # jobs 0, 4 and 8 are observed
        record = _Record(NOW_MS - (2_000 if n % 4 == 0 else 200))
        metrics.attempt_ended(SEND_EMAIL, PROCESSED, 0.001, record)  # type: ignore[arg-type]
    metrics.attempt_ended(SEND_EMAIL, "retried", 0.001, _Record(NOW_MS - 9_000))  # type: ignore[arg-type]

    snapshot = metrics.snapshot()
    assert snapshot.durations[SEND_EMAIL].count == 10  # every attempt's duration
    latency = snapshot.latencies[SEND_EMAIL]
    assert latency.count == 3
    assert latency.total == pytest.approx(6.0)  # the three 2-second jobs, none of the others


def test_latency_is_measured_on_the_wall_clock_by_default() -> None:
    metrics = Metrics(latency_every=1)
    published = time.time() - 60
    before = time.time()
    metrics.attempt_ended(SEND_EMAIL, PROCESSED, 0.001, _Record(int(published * 1000)))  # type: ignore[arg-type]
    after = time.time()

    # Bounded by readings of the clock on either side, not by a guess at how long that took
    latency = metrics.snapshot().latencies[SEND_EMAIL]
    assert before - published <= latency.total <= after - published + 0.001


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_prometheus_serves_latency_lag_and_time_lag_with_their_labels() -> None:
    scraped = samples(PrometheusView(counted().snapshot).render())

    assert scraped["keel_jobs_processed_total"] == [({"job_type": SEND_EMAIL}, 2)]
    assert scraped["keel_jobs_dead_lettered_total"] == [({"job_type": SEND_EMAIL}, 1)]
    assert scraped["keel_job_latency_seconds_count"] == [({"job_type": SEND_EMAIL}, 2)]
    buckets = dict(
        (labels["le"], value) for labels, value in scraped["keel_job_latency_seconds_bucket"]
    )
    assert (buckets["0.1"], buckets["0.25"], buckets["1.0"], buckets["2.5"]) == (0, 1, 1, 2)
    assert sorted(scraped["keel_consumer_lag"], key=str) == [
        ({"topic": "jobs.email", "partition": "0"}, 42),
        ({"topic": "jobs.email", "partition": "1"}, 0),
    ]
    assert ({"topic": "jobs.email", "partition": "0"}, 3.5) in scraped[
        "keel_consumer_time_lag_seconds"
    ]
    assert scraped["keel_jobs_buffered"] == [({}, 3)]


def test_observable_instruments_report_the_same_counts_and_gauges() -> None:
    metrics = counted()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        OtelMetrics(metrics.snapshot, provider, "billing")
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()

    assert data is not None
    points = {
        metric.name: [(dict(p.attributes or {}), p.value) for p in metric.data.data_points]  # type: ignore[union-attr]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert points["keel.jobs.processed"] == [({"keel.job.type": SEND_EMAIL}, 2)]
    assert points["keel.jobs.dead_lettered"] == [({"keel.job.type": SEND_EMAIL}, 1)]
    assert points["keel.jobs.buffered"] == [({}, 3)]
    lag = {
        attrs["messaging.destination.partition.id"]: v for attrs, v in points["keel.consumer.lag"]
    }
    assert lag == {"0": 42, "1": 0}
    (attributes, _value), _ = points["keel.consumer.time_lag"]
    assert attributes == {
        "messaging.system": "kafka",
        "messaging.consumer.group.name": "billing",
        "messaging.destination.name": "jobs.email",
        "messaging.destination.partition.id": "0",
    }


class _Collected(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def test_exports_carry_the_histograms_as_cumulative_bucket_counts() -> None:
    collected = _Collected()
    exporter = WithHistograms(collected, counted().snapshot, "billing", Resource.create())

    exporter.export(MetricsData(resource_metrics=[]))

    (batch,) = collected.batches
    metrics = {
        m.name: m for r in batch.resource_metrics for s in r.scope_metrics for m in s.metrics
    }
    duration = metrics["messaging.process.duration"].data
    assert isinstance(duration, Histogram)
    (point,) = duration.data_points
    assert point.count == 2
    assert point.sum == pytest.approx(0.023)
    assert point.min is None  # not kept: optional in OTLP
    assert point.max is None
    assert sum(point.bucket_counts) == 2
    assert len(point.bucket_counts) == len(point.explicit_bounds) + 1
    assert dict(point.attributes or {})["keel.job.type"] == SEND_EMAIL
    assert metrics["keel.job.latency"].unit == "s"


def test_consumer_lag_comes_from_librdkafka_statistics_of_owned_partitions() -> None:
    stats = {
        "topics": {
            "jobs.email": {
                "partitions": {
                    "0": {"consumer_lag": 17},
                    "1": {"consumer_lag": -1},  # nothing committed yet: unknown, left out
                    "-1": {"consumer_lag": -1},  # librdkafka's internal UA partition
                }
            },
            "jobs.report": {"partitions": {"0": {"consumer_lag": 5}}},
        }
    }
    assert partition_lag(stats) == {("jobs.email", 0): 17, ("jobs.report", 0): 5}
    lag = ConsumerLag()
    lag.on_stats(json.dumps(stats))
    assert lag.of({("jobs.email", 0), ("jobs.email", 1)}) == {("jobs.email", 0): 17}


def test_time_lag_is_the_age_of_the_oldest_unfinished_record() -> None:
    part = PartitionState(("jobs.email", 0), PartitionOffsets(10))
    for offset, timestamp in ((10, 1_000), (11, 2_000), (12, 3_000)):
        part.offsets.receive(offset)
        part.arrivals.add(offset, timestamp)
    part.offsets.finish(11)  # out of order: 10 is still the oldest unfinished
    assert part.oldest_unfinished_ms() == 1_000
    part.offsets.finish(10)
    assert part.oldest_unfinished_ms() == 3_000
    part.offsets.finish(12)
    assert part.oldest_unfinished_ms() is None
    assert not part.arrivals  # finished records are forgotten


async def test_the_engine_reports_time_lag_of_a_running_job_and_zero_after() -> None:
    app = App("billing", catalog=CATALOG)
    lags: list[dict[tuple[str, int], float]] = []
    worker = InMemoryWorker(app, topic="jobs.steps")

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        lags.append(worker._ensure_engine().time_lags())

    worker.send(Step(n=1))
    try:
        await worker.run_until_idle()
        after = worker._ensure_engine().time_lags()
    finally:
        await worker.close()
    ((tp, running),) = lags[0].items()
    assert tp == ("jobs.steps", 0)
    assert 0 <= running < 5
    assert after == {("jobs.steps", 0): 0.0}


def test_counts_by_outcome_stay_apart() -> None:
    metrics = counted()
    assert metrics.count(SEND_EMAIL, PROCESSED) == 2
    assert metrics.total(DEAD_LETTERED) == 1
