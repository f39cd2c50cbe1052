"""The `cancelled` status a dispatcher writes for a tracked job it drops, and when it may."""

from unittest.mock import Mock

from confluent_kafka.admin._acl import AclOperation

from keel.producers.delayed.job_status import REASON, cancelled, may_write
from keel.producers.delayed.records import Waiting
from keel.schemas.headers import JOB_ID, JOB_TYPE
from keel.schemas.status.record import JobStatus, decode, encode


def waiting(*headers: tuple[str, bytes]) -> Waiting:
    message = Mock()
    message.partition.return_value, message.offset.return_value = 2, 7
    message.key.return_value, message.value.return_value = b"user-1", b"avro"
    message.headers.return_value = [(JOB_ID, b"job-1"), *headers]
    return Waiting.of(message)


def test_a_cancelled_job_reads_cancelled_with_its_type_and_why() -> None:
    status = cancelled(waiting((JOB_TYPE, b"svc.Chore")), 1_800_000_000_000)
    assert status == JobStatus(
        "job-1", "cancelled", job_type="svc.Chore", at_ms=1_800_000_000_000, reason=REASON
    )
    assert decode(encode(status)) == status
    assert status.final
    assert cancelled(waiting(), 5).job_type is None  # a record without its type header


def test_a_status_is_written_only_where_the_broker_allows_a_write_or_does_not_say() -> None:
    assert may_write(None)  # operations not reported
    assert may_write([AclOperation.READ, AclOperation.WRITE])
    assert may_write([AclOperation.ALL])
    assert not may_write([AclOperation.READ, AclOperation.DESCRIBE])
    assert not may_write([])
