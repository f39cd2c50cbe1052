"""A job's record put off into a tier of the delayed topic, and what its release restores."""

from unittest.mock import Mock

import pytest

from keel.producers.delayed.cancels import follow
from keel.producers.delayed.records import Waiting, postpone
from keel.producers.errors import DelayError
from keel.producers.records import Record
from keel.schemas.headers import (
    DELAYED_FOR_TOPIC,
    DELIVER_AT,
    EXPIRES_AT,
    JOB_ID,
    STATUS_TRACKED,
    TRACEPARENT,
)

NOW = 1_800_000_000_000
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def job_record(*extra: tuple[str, str]) -> Record:
    headers = [(JOB_ID, "job-1"), (TRACEPARENT, TRACE), *extra]
    return Record("job-1", "jobs.email", b"user-1", b"avro", list(headers))


def message_of(record: Record) -> Mock:
    message = Mock()
    message.partition.return_value = record.partition
    message.offset.return_value = 7
    message.key.return_value = record.key
    message.value.return_value = record.value
    message.headers.return_value = record.headers
    return message


def test_a_postponed_job_waits_in_its_tier_with_its_due_time_and_topic() -> None:
    delayed = postpone(job_record(), NOW + 5_000, NOW, "keel.delayed")
    assert (delayed.topic, delayed.partition, delayed.key) == ("keel.delayed", 3, b"user-1")
    assert (DELIVER_AT, str(NOW + 5_000)) in delayed.headers
    assert (DELAYED_FOR_TOPIC, "jobs.email") in delayed.headers


def test_its_release_restores_the_job_with_its_key_id_and_trace() -> None:
    delayed = postpone(job_record(), NOW + 5_000, NOW, "keel.delayed")
    released = Waiting.of(message_of(delayed)).released()
    assert (released.topic, released.key, released.value) == ("jobs.email", b"user-1", b"avro")
    assert released.partition == -1  # the producer's partitioner, by key
    assert (TRACEPARENT, TRACE) in released.headers
    assert released.job_id == "job-1"
    assert DELAYED_FOR_TOPIC not in dict(released.headers)


def test_a_tracked_job_waits_marked_as_such_and_is_released_without_the_mark() -> None:
    tracked = postpone(job_record()._replace(tracked=True), NOW + 5_000, NOW, "keel.delayed")
    waiting = Waiting.of(message_of(tracked))
    assert waiting.tracked
    assert STATUS_TRACKED not in dict(waiting.released().headers)
    assert Waiting.of(message_of(waiting.refiled("keel.delayed", NOW))).tracked
    untracked = postpone(job_record(), NOW + 5_000, NOW, "keel.delayed")
    assert STATUS_TRACKED not in dict(untracked.headers)
    assert not Waiting.of(message_of(untracked)).tracked


def test_a_refiled_job_moves_to_the_tier_of_what_remains() -> None:
    waiting = Waiting.of(message_of(postpone(job_record(), NOW + 60_000, NOW, "keel.delayed")))
    assert waiting.refiled("keel.delayed", NOW + 59_500).partition == 0


def test_a_job_that_expires_before_it_is_due_is_refused() -> None:
    expiring = job_record((EXPIRES_AT, str(NOW + 1_000)))
    with pytest.raises(DelayError, match="expires before it is due"):
        postpone(expiring, NOW + 5_000, NOW, "keel.delayed")


def test_a_cancel_and_its_tombstone_come_and_go_from_the_set() -> None:
    cancelled: set[str] = set()
    cancel, tombstone = Mock(), Mock()
    cancel.key.return_value, cancel.value.return_value = b"job-1", b"cancelled"
    tombstone.key.return_value, tombstone.value.return_value = b"job-1", None
    follow(cancelled, cancel)
    assert cancelled == {"job-1"}
    follow(cancelled, tombstone)
    assert cancelled == set()
