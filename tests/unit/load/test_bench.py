"""The benchmark's pure parts: rotation of paths and sample data."""

import time

import pytest
from confluent_kafka import KafkaError

from keel.load.bench import DeliveryFailures, _interleave, sample_values
from keel.schemas.demo import SendEmail


def test_paths_are_interleaved_and_rotated() -> None:
    calls: list[str] = []

    def path(name: str, rate: float):  # type: ignore[no-untyped-def]
        def run(count: int) -> float:
            calls.append(name)
            return rate

        return run

    runs = _interleave([path("typed", 1.0), path("raw", 2.0), path("bare", 3.0)], 10, 3)

    assert [[r.per_s for r in path] for path in runs] == [[1.0] * 3, [2.0] * 3, [3.0] * 3]
    assert all(r.cpu_us >= 0 for path in runs for r in path)
    assert calls == ["typed", "raw", "bare", "raw", "bare", "typed", "bare", "typed", "raw"]


def test_cpu_per_job_counts_the_thread_s_work_not_its_waiting() -> None:
    def busy(count: int) -> float:
        until = time.thread_time() + 0.002
        while time.thread_time() < until:
            pass
        return 1.0

    def waiting(count: int) -> float:
        time.sleep(0.002)
        return 1.0

    (busy_round,), (waiting_round,) = _interleave([busy, waiting], 10, 1)

    assert busy_round.cpu_us >= 200  # 2 ms over 10 jobs
    assert waiting_round.cpu_us < 50


def test_sample_values_are_valid_jobs_over_many_users() -> None:
    values = sample_values(2_500)

    assert len({v["user_id"] for v in values}) == 1_000
    assert all(SendEmail(**v).template == "welcome" for v in values[:100])


def test_raw_delivery_failure_fails_the_benchmark() -> None:
    failures = DeliveryFailures()
    failures(None, None)  # type: ignore[arg-type]
    failures.raise_any()

    failures(KafkaError(KafkaError._MSG_TIMED_OUT), None)  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="1 raw job"):
        failures.raise_any()
