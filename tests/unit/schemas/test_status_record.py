"""The status record: its value, the latest-wins rule, and where a lookup seeks."""

import time
import uuid
import zlib
from typing import ClassVar

import pytest

from keel.schemas.headers import new_job_id
from keel.schemas.job import Job
from keel.schemas.status.record import (
    BATCH_PREFIX,
    JobStatus,
    created_ms,
    decode,
    encode,
    find,
    latest,
    pack_doubles,
    partition_of,
    seek_time_ms,
    unknown,
)
from keel.schemas.status.settings import StatusSettings, is_tracked


class Plain(Job):
    n: int


class Tracked(Job):
    n: int

    keel_status: ClassVar[bool] = True


class Answer(Job):
    value: int


class Asked(Job):
    n: int

    keel_result: ClassVar[type[Job] | None] = Answer


def test_a_status_survives_its_value_with_its_result_bytes() -> None:
    status = JobStatus(
        new_job_id(),
        "done",
        job_type="svc.Asked",
        attempt=2,
        at_ms=5,
        worker="host:1",
        started_ms=3,
        finished_ms=5,
        result=b"\x00\x00\x00\x00\x01\x02",
    )
    assert decode(encode(status)) == status


def test_a_parked_status_survives_its_value_with_the_job_it_waits_behind() -> None:
    blocker = new_job_id()
    status = JobStatus(
        new_job_id(), "parked", job_type="svc.T", reason="quarantined", blocked_by=blocker
    )
    assert decode(encode(status)) == status
    assert not status.final


def test_a_cancelled_job_has_ended() -> None:
    assert JobStatus("j", "cancelled", reason="cancelled before its release").final
    assert decode(encode(JobStatus("j", "cancelled"))) == JobStatus("j", "cancelled")


@pytest.mark.parametrize(
    "value", [None, b"", b"not json", b'{"state": "asleep", "job_id": "x"}', b'{"v": 1}', b"[1]"]
)
def test_a_value_that_is_no_status_decodes_to_none(value: bytes | None) -> None:
    assert decode(value) is None


BATCH = (
    b'{"v":1,"worker":"w:1","statuses":['
    b'{"job_id":"a","state":"running","job_type":"t","attempt":1,"at_ms":5},'
    b'{"job_id":"b","state":"done","job_type":"t","attempt":2,"at_ms":9,"finished_ms":9}]}'
)


def test_a_job_is_found_in_its_own_record_or_in_a_batch_that_holds_it() -> None:
    own = encode(JobStatus("a", "queued", "t"))
    assert find(b"a", own, "a") == JobStatus("a", "queued", "t")
    assert find(BATCH_PREFIX + b"w:1:3", BATCH, "b") == JobStatus(
        "b", "done", "t", attempt=2, at_ms=9, worker="w:1", finished_ms=9
    )


# As a worker wrote its rows before it packed their times: a reader still finds them.
COLUMNS = (
    b'{"v":1,"worker":"w:2","statuses":['
    b'{"job_id":"r","state":"retrying","job_type":"t","attempt":1,"at_ms":4}],"done":['
    b'{"job_type":"t","job_ids":["c","d","c"],"started_ms":[10,20,30],"took_ms":[1,0,5]},'
    b'{"job_type":"u","job_ids":["e"],"attempts":[3],"started_ms":[40],"took_ms":[2],'
    b'"a_later_field":true}],"also_later":{}}'
)


def test_a_plain_done_is_read_from_its_job_types_rows_with_its_end_from_the_time_it_took() -> None:
    key = BATCH_PREFIX + b"w:2:1"
    assert find(key, COLUMNS, "d") == JobStatus(
        "d", "done", "t", attempt=1, at_ms=20, worker="w:2", started_ms=20, finished_ms=20
    )
    assert find(key, COLUMNS, "e") == JobStatus(
        "e", "done", "u", attempt=3, at_ms=42, worker="w:2", started_ms=40, finished_ms=42
    )
    assert find(key, COLUMNS, "r") == JobStatus(
        "r", "retrying", "t", attempt=1, at_ms=4, worker="w:2"
    )


def test_packed_times_are_read_with_the_batchs_clock() -> None:
    packed = (
        '{"v":1,"worker":"w:3","clock_ms":1000.0,"statuses":[],"done":['
        f'{{"job_type":"t","job_ids":["c","d"],"took":"{pack_doubles([0.25, 0.0])}",'
        f'"started":"{pack_doubles([0.5, 2.0])}"}}]}}'
    ).encode()
    assert find(BATCH_PREFIX + b"w:3:1", packed, "c") == JobStatus(
        "c", "done", "t", attempt=1, at_ms=1_750, worker="w:3", started_ms=1_500, finished_ms=1_750
    )
    broken = packed.replace(b'"started":"', b'"started":"!')
    assert find(BATCH_PREFIX + b"w:3:1", broken, "c") is None


def test_a_job_with_two_rows_in_a_batch_reads_as_the_later_row() -> None:
    found = find(BATCH_PREFIX + b"w:2:1", COLUMNS, "c")
    assert found is not None
    assert (found.started_ms, found.finished_ms) == (30, 35)


@pytest.mark.parametrize(
    ("key", "value", "job_id"),
    [
        (BATCH_PREFIX + b"w:2:1", COLUMNS, "f"),  # rows of other jobs
        (BATCH_PREFIX + b"w:2:2", b'{"v":1,"done":[{"job_type":"t","job_ids":["a"]}]}', "a"),
        (BATCH_PREFIX + b"w:2:3", b'{"v":1,"done":[{"job_ids":["a"],"started_ms":[1]}]}', "a"),
    ],
)
def test_rows_that_do_not_hold_a_done_of_the_job_find_none(
    key: bytes, value: bytes, job_id: str
) -> None:
    assert find(key, value, job_id) is None


@pytest.mark.parametrize(
    ("key", "value", "job_id"),
    [
        (b"b", encode(JobStatus("b", "done")), "a"),  # another job's own record
        (BATCH_PREFIX + b"w:1:3", BATCH, "c"),  # a batch of other jobs
        (b"other:1", BATCH, "a"),  # a key that is no batch's
        (BATCH_PREFIX + b"w:1:4", b'{"v":1,"statuses":{"job_id":"a"}}', "a"),  # garbled
        (BATCH_PREFIX + b"w:1:4", b'{"v":1,"statuses":[{"job_id":"a"}]}', "a"),  # no state
        (BATCH_PREFIX + b"w:1:5", None, "a"),
        (None, BATCH, "a"),
    ],
)
def test_a_record_that_holds_no_status_of_the_job_finds_none(
    key: bytes | None, value: bytes | None, job_id: str
) -> None:
    assert find(key, value, job_id) is None


def test_the_later_record_wins() -> None:
    running = JobStatus("j", "running", attempt=1)
    retrying = JobStatus("j", "retrying", attempt=1)
    assert latest(running, retrying) == retrying
    assert latest(retrying, JobStatus("j", "running", attempt=2)).attempt == 2


def test_a_late_queued_never_replaces_what_a_worker_wrote() -> None:
    queued = JobStatus("j", "queued")
    done = JobStatus("j", "done", attempt=1)
    assert latest(None, queued) == queued
    assert latest(done, queued) == done
    assert latest(queued, JobStatus("j", "queued", at_ms=9)).at_ms == 9


def test_every_id_has_one_partition_within_range() -> None:
    job_id = new_job_id()
    assert partition_of(job_id, 6) == zlib.crc32(job_id.encode()) % 6
    assert {partition_of(new_job_id(), 4) for _ in range(200)} == {0, 1, 2, 3}


def test_a_uuid7_id_holds_its_creation_time_and_the_seek_starts_before_it() -> None:
    before = int(time.time() * 1000)
    job_id = new_job_id()
    created = created_ms(job_id)
    assert created is not None
    assert before - 1 <= created <= int(time.time() * 1000) + 1
    assert seek_time_ms(job_id, 60_000) == created - 60_000


def test_an_id_without_a_time_is_read_from_the_beginning() -> None:
    job_id = str(uuid.uuid4())
    assert created_ms(job_id) is None
    assert seek_time_ms(job_id, 60_000) == 0
    assert created_ms("not-a-uuid") is None


def test_unknown_says_why() -> None:
    status = unknown("x", "past_retention")
    assert status.state == "unknown"
    assert (status.reason or "").startswith("past_retention: older than")


def test_a_type_is_tracked_by_its_model_or_by_the_settings() -> None:
    none = StatusSettings(track=())
    assert not is_tracked(Plain, "svc.Plain", none)
    assert is_tracked(Tracked, "svc.Tracked", none)
    assert is_tracked(Asked, "svc.Asked", none)
    assert is_tracked(Plain, "svc.Plain", StatusSettings(track=("svc.Plain",)))
    assert is_tracked(Plain, "svc.Plain", StatusSettings(track=("*",)))
    assert not is_tracked(Plain, "svc.Plain", StatusSettings(track=("svc.Other",)))


def test_the_topic_is_compacted_and_deleted_after_its_retention() -> None:
    assert StatusSettings(retention_ms=3_600_000).topic_config() == {
        "cleanup.policy": "compact,delete",
        "retention.ms": "3600000",
    }
