"""From a final status to a result or an error, and how `keel jobs status` shows it."""

from typing import cast

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.producers.status.cli import as_document, lines
from keel.producers.status.errors import JobFailedError, NoResultError, ResultTimeoutError
from keel.producers.status.results import outcome
from keel.schemas.headers import new_job_id
from keel.schemas.status.record import JobStatus, created_ms, unknown

NO_REGISTRY = cast(SchemaRegistryClient, None)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("dead_lettered", "rejected: no"),
        ("expired", "expired"),
        ("cancelled", "cancelled before its release"),
    ],
)
def test_a_job_that_ended_without_success_raises_with_its_reason(state: str, reason: str) -> None:
    status = JobStatus("j", state, reason=reason)  # type: ignore[arg-type]
    with pytest.raises(JobFailedError, match=reason) as failed:
        outcome(status, NO_REGISTRY)
    assert failed.value.reason == reason
    assert failed.value.job_id == "j"


@pytest.mark.parametrize(
    "status", [JobStatus("j", "running"), JobStatus("j", "retrying"), unknown("j", "not_found")]
)
def test_a_job_not_ended_when_the_wait_ends_raises_a_timeout(status: JobStatus) -> None:
    with pytest.raises(ResultTimeoutError, match="not ended in time") as timed_out:
        outcome(status, NO_REGISTRY)
    assert timed_out.value.status == status


def test_a_parked_job_is_not_ended_and_the_timeout_names_what_it_waits_behind() -> None:
    parked = JobStatus("j", "parked", reason="quarantined", blocked_by="blocker-1")
    with pytest.raises(
        ResultTimeoutError, match=r"last status parked \(quarantined\), behind blocker-1"
    ):
        outcome(parked, NO_REGISTRY)


def test_a_done_job_without_a_result_says_so() -> None:
    with pytest.raises(NoResultError, match="declares no result model"):
        outcome(JobStatus("j", "done"), NO_REGISTRY)
    with pytest.raises(NoResultError, match="result invalid: bad"):
        outcome(JobStatus("j", "done", error="result invalid: bad"), NO_REGISTRY)


def test_the_status_command_shows_times_as_iso_and_the_queued_time_from_the_id() -> None:
    job_id = new_job_id()
    status = JobStatus(job_id, "done", attempt=1, started_ms=1_700_000_000_000, result=b"\x00abc")
    document = as_document(status)
    assert document["queued_ms"] == created_ms(job_id)
    assert document["started"] == "2023-11-14T22:13:20.000+00:00"
    assert document["result"] == "AGFiYw=="
    shown = lines(status)
    assert "state: done" in shown
    assert "result: 4 bytes of Avro (--json has it, base64)" in shown
    assert not any(line.startswith("started_ms") for line in shown)
