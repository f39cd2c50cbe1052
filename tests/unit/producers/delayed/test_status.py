"""A dispatcher's status as its health endpoints read it: probes, lateness and /metrics."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keel.producers.delayed.health import HealthServer
from keel.producers.delayed.prometheus import DispatcherMetricsView
from keel.producers.delayed.status import LIVE_WINDOW_S, DispatcherStatus, Lateness


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_lateness_counts_each_release_in_the_first_bucket_that_holds_it() -> None:
    lateness = Lateness()
    for late_ms in (-5, 10, 400, 1_000, 1_001, 60_000):
        lateness.observe(late_ms)
    status = DispatcherStatus()
    status.counts.lateness = lateness
    found = samples(DispatcherMetricsView(status).render())
    bucket = "keel_dispatcher_lateness_seconds_bucket"
    assert found[(bucket, (("le", "0.01"),))] == 2  # early counts as on time; 10 ms is <= 0.01
    assert found[(bucket, (("le", "0.5"),))] == 3
    assert found[(bucket, (("le", "1.0"),))] == 4
    assert found[(bucket, (("le", "2.5"),))] == 5
    assert found[(bucket, (("le", "+Inf"),))] == 6
    assert found[("keel_dispatcher_lateness_seconds_count", ())] == 6
    assert found[("keel_dispatcher_lateness_seconds_sum", ())] == pytest.approx(62.411)


def test_metrics_show_outcomes_leadership_and_the_backlog_by_tier() -> None:
    status = DispatcherStatus(leading=True, term_open=True, pending={0: 3, 20: 1_000_000})
    status.counts.outcomes.update({"released": 7, "refiled": 2})
    status.counts.transactions = 4

    found = samples(DispatcherMetricsView(status).render())

    jobs = "keel_dispatcher_jobs_total"
    assert found[(jobs, (("outcome", "released"),))] == 7
    assert found[(jobs, (("outcome", "refiled"),))] == 2
    assert found[(jobs, (("outcome", "expired"),))] == 0
    assert found[("keel_dispatcher_transactions_total", ())] == 4
    assert found[("keel_dispatcher_leader", ())] == 1
    assert found[("keel_dispatcher_pending_records", (("tier", "20"),))] == 1_000_000


def test_a_process_the_group_elected_but_without_a_term_is_not_ready_nor_leader() -> None:
    status = DispatcherStatus()
    assert status.live()
    assert not status.ready()  # starting: the loop has not turned yet
    status.turned()
    assert status.ready()  # a standby
    status.leading = True
    assert not status.ready()  # elected, term not open (yet, or failing to open)
    assert samples(DispatcherMetricsView(status).render())[("keel_dispatcher_leader", ())] == 0
    status.term_open = True
    assert status.ready()


def test_a_loop_that_stopped_turning_is_not_live(monkeypatch: pytest.MonkeyPatch) -> None:
    status = DispatcherStatus()
    status.turned()
    assert status.last_turn is not None
    monkeypatch.setattr(status, "last_turn", status.last_turn - LIVE_WINDOW_S - 1)
    assert not status.live()


def test_the_endpoints_answer_over_http() -> None:
    status = DispatcherStatus(leading=True)
    status.turned()
    server = HealthServer(status, "127.0.0.1", 0).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{base}/livez").status_code == 200
        not_ready = httpx.get(f"{base}/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json() == {"leading": True, "term_open": False}
        status.term_open = True
        assert httpx.get(f"{base}/readyz").status_code == 200
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "keel_dispatcher_leader 1.0" in metrics.text
        assert httpx.get(f"{base}/nothing").status_code == 404
    finally:
        server.close()
