"""Expired jobs counted by job type and action, the same in Prometheus and in OpenTelemetry."""

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers.pipeline.observer import NoObserver, observers
from keel.consumers.telemetry.metrics import Metrics
from keel.consumers.telemetry.otel import OtelMetrics
from keel.consumers.telemetry.prometheus import PrometheusView

EMAIL = "keel.jobs.SendEmail"
QUOTE = "keel.jobs.RefreshQuote"


def counted() -> Metrics:
    metrics = Metrics()
    fanned = observers([metrics, NoObserver()])  # through the fan-out, as the worker's are
    for _ in range(3):
        fanned.expired(EMAIL, "dead-letter")
    fanned.expired(QUOTE, "drop")
    return metrics


def test_prometheus_counts_expired_jobs_by_type_and_action() -> None:
    page = PrometheusView(counted().snapshot).render()

    found = {
        (sample.labels["job_type"], sample.labels["action"]): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "keel_jobs_expired_total"
    }
    assert found == {(EMAIL, "dead-letter"): 3, (QUOTE, "drop"): 1}


def test_opentelemetry_counts_the_same() -> None:
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
        (
            dict(point.attributes or {})["keel.job.type"],
            dict(point.attributes or {})["keel.expiry.action"],
        ): point.value  # type: ignore[union-attr]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "keel.jobs.expired"
        for point in metric.data.data_points
    }
    assert points == {(EMAIL, "dead-letter"): 3, (QUOTE, "drop"): 1}
