"""The console's view of a job status: the id checked, fields in order, the result decoded."""

from unittest.mock import MagicMock

import pytest

from keel.consumers.console.bodies import Body
from keel.consumers.console.job_status import MalformedJobIdError, checked, view
from keel.schemas.headers import new_job_id
from keel.schemas.status.record import JobStatus


def test_an_id_is_stripped_and_a_non_uuid_refused_naming_the_field() -> None:
    job_id = new_job_id()
    assert checked("id", f"  {job_id}\n") == job_id
    with pytest.raises(MalformedJobIdError, match=r"^job_id: not a job id \(a UUID\): 'order-17'$"):
        checked("job_id", "order-17")


def test_a_retrying_job_shows_its_recorded_fields_in_order_and_its_times_in_iso() -> None:
    status = JobStatus(
        new_job_id(), "retrying", attempt=1, at_ms=0, error="Retry", next_attempt_ms=4000
    )
    shown = view(status, MagicMock())
    names = [name for name, _, _ in shown.rows()]
    assert names == ["state", "attempt", "queued", "next_attempt", "at", "error"]
    assert shown.fields["next_attempt"] == "1970-01-01T00:00:04.000+00:00"
    assert shown.result is None
    assert "result" not in shown.as_json()


def test_an_avro_result_is_decoded_and_an_unreadable_one_kept_as_text() -> None:
    bodies = MagicMock()
    bodies.read.return_value = Body('{"total": 5}', "avro tests.Total (id 3)")
    done = JobStatus(new_job_id(), "done", attempt=1, result=b"\x00\x00\x00\x00\x03\x0a")
    assert view(done, bodies).as_json()["result"] == {"total": 5}
    bodies.read.return_value = Body("00 01", "hex", "not decoded with schema id 1: boom")
    assert view(done, bodies).as_json()["result"] == "00 01"


def test_a_parked_job_shows_and_links_the_job_it_waits_behind() -> None:
    blocker = new_job_id()
    parked = JobStatus(new_job_id(), "parked", reason="quarantined", blocked_by=blocker)
    shown = view(parked, MagicMock())
    assert [name for name, _, _ in shown.rows()][-2:] == ["reason", "blocked_by"]
    assert shown.blocker_link == f"/jobs/{blocker}"
    by_position = JobStatus(new_job_id(), "parked", blocked_by="jobs.steps/0/4")
    assert view(by_position, MagicMock()).blocker_link is None  # no id: nothing to link to
