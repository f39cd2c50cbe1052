"""The circuits' metrics as Prometheus renders them."""

from keel.consumers.pipeline.holds import CircuitReading
from keel.consumers.telemetry.metrics import Metrics, Readings
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
