"""Job headers: ASCII on the wire, parsed back exactly, ids sortable by creation time."""

import pytest

from keel.schemas.headers import ATTEMPT, JOB_ID, TRACEPARENT, JobHeaders, header_value, new_job_id
from keel.schemas.topics import dead_letter_topic


def test_headers_round_trip() -> None:
    headers = JobHeaders(new_job_id(), "keel.jobs.SendEmail", 1_700_000_000_123, 2, "00-ab-cd-01")

    assert JobHeaders.decode(headers.encode()) == headers


def test_headers_are_ascii_text() -> None:
    encoded = dict(JobHeaders("id-1", "keel.jobs.SendEmail", 1234, 3).encode())

    assert encoded[JOB_ID] == b"id-1"
    assert encoded[ATTEMPT] == b"3"
    assert TRACEPARENT not in encoded


def test_job_ids_are_unique_and_sort_by_creation() -> None:
    ids = [new_job_id() for _ in range(2000)]

    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_missing_header_is_named() -> None:
    with pytest.raises(ValueError, match=JOB_ID):
        JobHeaders.decode([("keel-job-type", b"x")])


def test_next_attempt_keeps_identity() -> None:
    first = JobHeaders("id-1", "t", 5)

    retry = first.next_attempt()

    assert (retry.job_id, retry.created_at_ms, retry.attempt) == ("id-1", 5, 2)


def test_header_value_finds_first_match() -> None:
    assert header_value([("a", b"1"), ("b", b"2"), ("b", b"3")], "b") == b"2"
    assert header_value(None, "b") is None


def test_dead_letter_topic_appends_suffix() -> None:
    assert dead_letter_topic("jobs.email") == "jobs.email.dlt"
