"""The handler's context: built from raw headers, decoded only when asked, read-only."""

import pytest

from keel.consumers import Context
from keel.schemas.headers import JOB_ID


def test_a_context_of_a_record_reads_and_decodes_its_headers_only_on_first_use() -> None:
    raw = [(JOB_ID, b"job-1"), ("note", b"caf\xc3\xa9"), ("bad", b"\xff"), ("empty", None)]
    reads: list[int] = []

    def read() -> list[tuple[str, bytes | None]]:
        reads.append(1)
        return raw

    context = Context.of_record("keel.jobs.SendEmail", 2, b"k", read)
    assert reads == []
    assert context.job_id == "job-1"
    assert context.headers == {JOB_ID: "job-1", "note": "café", "bad": "\ufffd", "empty": ""}
    assert (context.job_type, context.attempt, context.key) == ("keel.jobs.SendEmail", 2, b"k")
    assert reads == [1]


def test_a_record_without_headers_has_an_empty_job_id() -> None:
    context = Context.of_record("t", 1, None, lambda: None)
    assert context.job_id == ""
    assert context.headers == {}


def test_a_context_built_by_hand_equals_the_same_context_of_a_record() -> None:
    by_hand = Context(job_id="j", job_type="t", attempt=1, key=b"k", headers={JOB_ID: "j"})
    assert by_hand == Context.of_record("t", 1, b"k", lambda: [(JOB_ID, b"j")])
    assert by_hand != Context.of_record("t", 2, b"k", lambda: [(JOB_ID, b"j")])
    assert "job_id='j'" in repr(by_hand)
    with pytest.raises(AttributeError):
        by_hand.attempt = 3  # type: ignore[misc]
