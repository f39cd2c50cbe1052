"""Fire times and the catch-up rules: pure functions, so every case is a row."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

import pytest

from keel.producers.schedule import CatchUp, Cron, Every, due
from keel.producers.schedule_state import decode_state, encode_state, fire_id, from_ms, to_ms
from keel.producers.scheduler import Scheduler
from keel.schemas.demo import GenerateReport


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 21, hour, minute, second, tzinfo=UTC)


MINUTE = Every(timedelta(minutes=1))


@pytest.mark.parametrize(
    ("moment", "next_after", "last_before"),
    [
        (at(9, 0, 30), at(9, 1), at(9, 0)),
        # On a fire time exactly: both directions are strict.
        (at(9, 1), at(9, 2), at(9, 0)),
    ],
)
def test_every_is_aligned_to_the_epoch(
    moment: datetime, next_after: datetime, last_before: datetime
) -> None:
    assert MINUTE.next_after(moment) == next_after
    assert MINUTE.last_before(moment) == last_before


def test_cron_reads_its_expression_in_its_timezone() -> None:
    nine_in_berlin = Cron("0 9 * * *", timezone="Europe/Berlin")
    # 21 November: Berlin is UTC+1, so 09:00 there is 08:00 UTC.
    assert nine_in_berlin.next_after(at(7)) == at(8)
    assert nine_in_berlin.last_before(at(8, 0, 1)) == at(8)
    assert Cron("0 9 * * *").next_after(at(7)) == at(9)


def test_a_bad_trigger_fails_where_it_is_defined() -> None:
    with pytest.raises(ValueError, match="not a cron expression"):
        Cron("every day")
    with pytest.raises(ZoneInfoNotFoundError):
        Cron("0 9 * * *", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="interval must be positive"):
        Every(timedelta(0))


ALL = CatchUp(coalesce=False)


@pytest.mark.parametrize(
    ("since", "now", "catch_up", "expected"),
    [
        # Nothing new since the last fire.
        (at(9, 0), at(9, 0, 59), CatchUp(), []),
        # Exactly on the next fire time: it is due.
        (at(9, 0), at(9, 1), CatchUp(), [at(9, 1)]),
        # Three missed: coalesced to the latest, or all of them in order.
        (at(9, 0), at(9, 3, 10), CatchUp(), [at(9, 3)]),
        (at(9, 0), at(9, 3, 10), ALL, [at(9, 1), at(9, 2), at(9, 3)]),
        # A day missed: at most `limit`, the most recent ones.
        (at(8, 0), at(9, 0), CatchUp(coalesce=False, limit=2), [at(8, 59), at(9, 0)]),
        # Older than the grace: dropped; within it: fired.
        (at(9, 0), at(9, 3, 10), CatchUp(misfire_grace=timedelta(seconds=5)), []),
        (
            at(9, 0),
            at(9, 3, 10),
            CatchUp(coalesce=False, misfire_grace=timedelta(seconds=75)),
            [at(9, 2), at(9, 3)],
        ),
    ],
)
def test_due_applies_the_catch_up_policy(
    since: datetime, now: datetime, catch_up: CatchUp, expected: list[datetime]
) -> None:
    assert due(MINUTE, since, now, catch_up) == expected


def test_fire_ids_are_reproducible_time_sortable_uuid7() -> None:
    first, again = fire_id("s/daily", at(9)), fire_id("s/daily", at(9))
    later, other = fire_id("s/daily", at(10)), fire_id("s/hourly", at(9))
    assert first == again
    assert len({first, later, other}) == 3
    assert uuid.UUID(first).version == 7
    assert first < later  # ids of later fires sort after
    assert int(uuid.UUID(first).hex[:12], 16) == to_ms(at(9))


def test_state_round_trips_at_millisecond_precision() -> None:
    moment = at(9, 30, 15) + timedelta(milliseconds=123)
    assert decode_state(encode_state(moment)) == moment
    assert from_ms(to_ms(moment)) == moment


def test_scheduler_names_schedules_after_their_factories_and_refuses_twins() -> None:
    schedules = Scheduler("reports")

    @schedules.every(60)
    def hourly_sales(moment: datetime) -> GenerateReport:
        return GenerateReport(
            report_id=uuid.UUID(int=1),
            kind="hourly-sales",
            requested_by=uuid.UUID(int=2),
            period_start=moment - timedelta(hours=1),
            period_end=moment,
        )

    assert [s.name for s in schedules.schedules] == ["hourly-sales"]
    assert schedules.schedules[0].record_key == "hourly-sales"
    assert schedules.schedules[0].make(at(9)) == hourly_sales(at(9))
    with pytest.raises(ValueError, match="already has a schedule named 'hourly-sales'"):
        schedules.every(30, name="hourly-sales")(hourly_sales)
    with pytest.raises(ValueError, match="scheduler name"):
        Scheduler("no spaces")
