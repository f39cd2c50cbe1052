"""The health endpoint over a real loopback socket, and the metrics it serves."""

import asyncio

import httpx

from keel.consumers.pipeline.observer import DEAD_LETTERED, PROCESSED, RETRIED
from keel.consumers.telemetry.health import HealthServer, Probe
from keel.consumers.telemetry.metrics import Metrics, Readings
from keel.consumers.telemetry.prometheus import PrometheusView


def test_metrics_count_by_job_type_and_render_prometheus_text() -> None:
    metrics = Metrics().bound(Readings(buffered=lambda: 7, blocked=lambda: 1))
    metrics.attempt_ended("keel.jobs.SendEmail", PROCESSED, 0.003)
    metrics.attempt_ended("keel.jobs.SendEmail", RETRIED, 0.2)
    metrics.dead_lettered("keel.jobs.SendEmail", "fatal-error")
    text = PrometheusView(metrics.snapshot).render()
    assert 'keel_jobs_processed_total{job_type="keel.jobs.SendEmail"} 1.0' in text
    assert 'keel_jobs_retried_total{job_type="keel.jobs.SendEmail"} 1.0' in text
    assert 'keel_jobs_dead_lettered_total{job_type="keel.jobs.SendEmail"} 1.0' in text
    assert "keel_jobs_buffered 7.0" in text
    assert "keel_dead_letter_blocked_partitions 1.0" in text
    assert 'keel_job_duration_seconds_bucket{job_type="keel.jobs.SendEmail",le="0.005"} 1.0' in text
    assert 'keel_job_duration_seconds_count{job_type="keel.jobs.SendEmail"} 2.0' in text
    assert metrics.total(DEAD_LETTERED) == 1


async def test_probes_answer_200_or_503_with_their_reason() -> None:
    ready = False
    server = HealthServer(
        live=lambda: Probe(True, {"last_poll_seconds_ago": 0.1}),
        ready=lambda: Probe(ready, {"draining": not ready}),
        metrics=lambda: "keel_jobs_buffered 0\n",
    )
    await server.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"

    def get(path: str) -> httpx.Response:
        return httpx.get(base + path, timeout=5)

    try:
        live = await asyncio.to_thread(get, "/livez")
        not_ready = await asyncio.to_thread(get, "/readyz")
        ready = True
        now_ready = await asyncio.to_thread(get, "/readyz")
        scraped = await asyncio.to_thread(get, "/metrics")
        missing = await asyncio.to_thread(get, "/nope")
    finally:
        await server.close()
    assert live.status_code == 200
    assert (not_ready.status_code, not_ready.json()) == (503, {"draining": True})
    assert now_ready.status_code == 200
    assert scraped.text == "keel_jobs_buffered 0\n"
    assert missing.status_code == 404


def test_quarantined_keys_and_parked_jobs_are_read_at_scrape_time() -> None:
    metrics = Metrics().bound(Readings(quarantined=lambda: 2, parked=lambda: 9))

    text = PrometheusView(metrics.snapshot).render()

    assert "keel_quarantined_keys 2.0" in text
    assert "keel_jobs_parked_total 9.0" in text
