"""The Prometheus endpoint of a real worker process, read while it runs real jobs."""

import os
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers.telemetry.metrics import LATENCY_SAMPLE_EVERY
from keel.deploy.local.ports import pick_free_ports
from tests.integration.test_worker_processes import finished
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer

GOOD = 300
POISON = 3
SEND_EMAIL = "keel.jobs.SendEmail"


def _samples(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    return sum(value for _labels, value in samples.get(name, []))


def _by_partition(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str
) -> dict[tuple[str, str], float]:
    return {
        (labels["topic"], labels["partition"]): value for labels, value in samples.get(name, [])
    }


def test_metrics_count_real_jobs_and_serve_latency_lag_and_time_lag(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given a worker process with its health port, and good jobs and poison on its topic
    topic = new_topic("metrics", partitions=2)
    (port,) = pick_free_ports(1)
    output = tmp_path / "finished"
    worker = WorkerProcess(
        cluster,
        topic,
        f"metrics-{topic}",
        output,
        latency=0.001,
        health_port=str(port),
        statistics_interval_ms="200",
    )
    producer = JobProducer(cluster, topic)
    try:
        producer.send_all(email(n % 10, n // 10) for n in range(GOOD))
        for n in range(POISON):
            # A key each: a second poison record of one key would be parked behind the first
            producer.send_raw(os.urandom(32), f"poison-{n}".encode())
        producer.close()

        # When the worker has run them all
        wait_until(lambda: finished(output) >= GOOD, 90, "every good job")
        wait_until(
            lambda: _total(_samples(port), "keel_jobs_dead_lettered_total") >= POISON,
            60,
            "the poison to be dead-lettered",
        )
        # librdkafka's next statistics after the last commit report both partitions caught up
        wait_until(
            lambda: (
                _by_partition(_samples(port), "keel_consumer_lag")
                == {(topic, "0"): 0, (topic, "1"): 0}
            ),
            60,
            "the consumer lag of both partitions to reach 0",
        )
        samples = _samples(port)
    finally:
        worker.stop()

    # Then the endpoint, parsed as Prometheus text, counts them by job type and outcome
    processed = dict(
        (labels["job_type"], value) for labels, value in samples["keel_jobs_processed_total"]
    )
    assert processed == {SEND_EMAIL: GOOD}
    assert _total(samples, "keel_jobs_dead_lettered_total") == POISON
    durations = {
        labels["job_type"]: value for labels, value in samples["keel_job_duration_seconds_count"]
    }
    assert durations[SEND_EMAIL] == GOOD
    latencies = {
        labels["job_type"]: value for labels, value in samples["keel_job_latency_seconds_count"]
    }
    # One processed job in LATENCY_SAMPLE_EVERY, the first one included
    assert latencies[SEND_EMAIL] == -(-GOOD // LATENCY_SAMPLE_EVERY)
    assert _by_partition(samples, "keel_consumer_time_lag_seconds") == {
        (topic, "0"): 0,
        (topic, "1"): 0,
    }
    assert _total(samples, "keel_jobs_buffered") == 0
    assert _total(samples, "keel_dead_letter_blocked_partitions") == 0
