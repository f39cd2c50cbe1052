"""The worker's hand-formatted status values read back as the statuses they describe."""

import json

import pytest

from keel.consumers.status.values import Transition, batch_value, done_rows, status_entry
from keel.schemas.status.record import (
    BATCH_PREFIX,
    JobStatus,
    find,
    pack_doubles,
    unpack_doubles,
)

KEY = BATCH_PREFIX + b"host:7:1"


def status_value(worker: str, transition: Transition) -> bytes:
    """A batch of one."""
    return batch_value(worker, [status_entry(transition)])


def decode(value: bytes) -> JobStatus | None:
    return find(KEY, value, json.loads(value)["statuses"][0]["job_id"])


def test_a_full_transition_reads_back_field_for_field() -> None:
    done = Transition(
        "job-1", "done", "svc.AddUp", 2, 30, 10, 30, 0, "result invalid: x", None, b"\x00ab"
    )
    assert decode(status_value("host:7", done)) == JobStatus(
        "job-1",
        "done",
        job_type="svc.AddUp",
        attempt=2,
        at_ms=30,
        worker="host:7",
        started_ms=10,
        finished_ms=30,
        error="result invalid: x",
        result=b"\x00ab",
    )


def test_text_that_needs_escaping_stays_valid_json() -> None:
    awkward = 'quote " backslash \\ newline \n tab \t unicode é ☃ control \x01'
    retrying = Transition('id-"1"', "retrying", "svc.T", 1, 5, next_attempt_ms=9, error=awkward)
    value = status_value("hôst:1", retrying)
    assert json.loads(value)["statuses"][0]["error"] == awkward
    status = decode(value)
    assert status is not None
    assert (status.job_id, status.worker, status.error) == ('id-"1"', "hôst:1", awkward)
    assert status.next_attempt_ms == 9
    assert status.started_ms is None


def test_a_minimal_transition_has_no_optional_fields() -> None:
    value = json.loads(status_value("w", Transition("j", "running", "svc.T", 1, 5)))
    assert set(value) == {"v", "worker", "statuses"}
    assert set(value["statuses"][0]) == {"job_id", "state", "job_type", "attempt", "at_ms"}


def test_a_parked_transition_names_the_job_it_waits_behind() -> None:
    parked = Transition("j", "parked", "svc.T", 0, 5, reason="quarantined", blocked_by="blocker-1")
    status = decode(status_value("w", parked))
    assert status is not None
    assert (status.state, status.reason, status.blocked_by) == (
        "parked",
        "quarantined",
        "blocker-1",
    )


def test_plain_dones_read_back_from_their_rows_beside_the_entries() -> None:
    rows = done_rows("svc.T", [b"job-1", b"job-2"], [1, 2], [0.5, 1.25], [0.0, 0.0078125])
    running = status_entry(Transition("job-3", "running", "svc.T", 1, 5))
    value = batch_value("w", [running], [rows], clock_ms=1_000.0)
    found = [find(KEY, value, job_id) for job_id in ("job-1", "job-2", "job-3")]
    assert [(s.state, s.attempt, s.started_ms, s.finished_ms) for s in found if s] == [
        ("done", 1, 1_500, 1_500),
        ("done", 2, 2_250, 2_257),
        ("running", 1, None, None),
    ]


def test_rows_of_first_attempts_and_no_time_taken_leave_those_out() -> None:
    slow = json.loads(batch_value("w", [], [done_rows("svc.T", [b"j"], [1], [0.01], [0.002])]))
    assert set(slow["done"][0]) == {"job_type", "job_ids", "took", "started"}
    assert "done" not in json.loads(batch_value("w", []))  # no rows, no field
    quick = json.loads(batch_value("w", [], [done_rows("svc.T", [b"j"], [1], [0.01], [0.0009])]))
    assert set(quick["done"][0]) == {"job_type", "job_ids", "started"}
    found = find(KEY, json.dumps(quick).encode(), "j")
    assert found is not None
    assert (found.started_ms, found.finished_ms) == (10, 10)


def test_the_packed_times_are_doubles_a_reader_unpacks_exactly() -> None:
    starts = [0.0, 1e-9, 123_456.789_012_345, -2.5]
    assert list(unpack_doubles(pack_doubles(starts))) == starts


@pytest.mark.parametrize(
    "awkward", ['id-"1"', "back\\slash", "new\nline", "del\x7f", "unicodé ☃", "\x00"]
)
def test_an_id_that_needs_escaping_in_its_rows_is_found_as_itself(awkward: str) -> None:
    rows = done_rows("svc.T", [b"plain", awkward.encode()], [1, 1], [0.01, 0.02], [0.0, 0.0])
    value = batch_value("w", [], [rows])
    assert json.loads(value)["done"][0]["job_ids"] == ["plain", awkward]
    found = find(KEY, value, awkward)
    assert found is not None
    assert (found.job_id, found.started_ms) == (awkward, 20)
