"""The state record and the fire ids: what a new leader reads, and what a consumer dedupes on."""

import uuid
from datetime import UTC, datetime, timedelta

from keel.producers.scheduler.state import decode_state, encode_state, fire_id, from_ms, to_ms


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 21, hour, minute, second, tzinfo=UTC)


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
