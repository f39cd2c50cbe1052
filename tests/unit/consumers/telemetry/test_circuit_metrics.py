"""The circuits' metrics, as Prometheus renders them and as OpenTelemetry instruments."""

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from keel.consumers.pipeline.holds import CircuitReading
from keel.consumers.telemetry.metrics import Metrics, Readings
from keel.consumers.telemetry.otel import OtelMetrics
from keel.consumers.telemetry.prometheus import PrometheusView

CIRCUITS = {
    "keel.jobs.Charge": CircuitReading("open", 42, {"open": 3, "half_open": 2, "closed": 1}),
    "keel.jobs.SendEmail": CircuitReading("closed", 0, {}),
}


def test_circuit_state_held_jobs_and_transitions_by_job_type() -> None:
    metrics = Metrics().bound(Readings(circuits=lambda: CIRCUITS))
    text = PrometheusView(metrics.snapshot).render()
    assert 'keel_circuit_state{job_type="keel.jobs.Charge",state="open"} 1.0' in text
    assert 'keel_circuit_state{job_type="keel.jobs.Charge",state="closed"} 0.0' in text
    assert 'keel_circuit_state{job_type="keel.jobs.SendEmail",state="closed"} 1.0' in text
    assert 'keel_circuit_held_jobs{job_type="keel.jobs.Charge"} 42.0' in text
    assert 'keel_circuit_transitions_total{job_type="keel.jobs.Charge",state="open"} 3.0' in text
    assert (
        'keel_circuit_transitions_total{job_type="keel.jobs.Charge",state="half_open"} 2.0' in text
    )
    assert 'keel_circuit_transitions_total{job_type="keel.jobs.SendEmail",state="open"} 0.0' in text


def test_the_same_circuits_go_out_as_opentelemetry_instruments() -> None:
    metrics = Metrics().bound(Readings(circuits=lambda: CIRCUITS))
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        OtelMetrics(metrics.snapshot, provider, "billing")
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    assert data is not None
    points = {
        (metric.name, tuple(sorted((p.attributes or {}).items()))): p.value  # type: ignore[union-attr]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for p in metric.data.data_points
    }
    charge = ("keel.job.type", "keel.jobs.Charge")
    assert points["keel.circuit.state", (("keel.circuit.state", "open"), charge)] == 1
    assert points["keel.circuit.state", (("keel.circuit.state", "closed"), charge)] == 0
    assert points["keel.circuit.held_jobs", (charge,)] == 42
    assert points["keel.circuit.transitions", (("keel.circuit.state", "half_open"), charge)] == 2
