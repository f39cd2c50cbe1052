"""The read-ahead: records behind a tier's head wait in order, and a full tier is paused."""

from keel.producers.delayed.ahead import ReadAhead
from keel.producers.delayed.records import Waiting

NOW = 1_800_000_000_000


def waiting(tier: int, offset: int, due: int) -> Waiting:
    return Waiting(tier, offset, None, b"", [], due, f"job-{tier}-{offset}", None, "jobs")


def test_records_behind_a_head_not_yet_due_wait_for_it_even_when_due_themselves() -> None:
    ahead = ReadAhead(limit=10)
    ahead.hold(waiting(0, 1, NOW + 500))
    ahead.hold(waiting(0, 2, NOW + 100))  # due before the head: still behind it

    assert ahead.due(NOW + 200, room=10) == []
    assert [w.offset for w in ahead.due(NOW + 500, room=10)] == [1, 2]
    assert not ahead.holds(0)


def test_due_takes_at_most_room_records_lowest_tier_first() -> None:
    ahead = ReadAhead(limit=10)
    for offset in range(3):
        ahead.hold(waiting(0, offset, NOW))
    ahead.hold(waiting(2, 0, NOW + 1_999))  # tier 2 acts when under 2 s remain

    taken = ahead.due(NOW, room=2)

    assert [(w.tier, w.offset) for w in taken] == [(0, 0), (0, 1)]
    assert [(w.tier, w.offset) for w in ahead.due(NOW, room=5)] == [(0, 2), (2, 0)]


def test_a_full_tier_is_paused_once_and_resumed_half_empty_after_its_last_record() -> None:
    ahead = ReadAhead(limit=4)
    paused = [ahead.hold(waiting(1, offset, NOW + offset)) for offset in range(10, 14)]
    assert paused == [False, False, False, True]
    assert not ahead.hold(waiting(1, 14, NOW + 14))  # arrived in the same fetch: kept, no pause

    ahead.due(NOW + 1, room=2)
    assert ahead.to_resume() == {}  # three left of a limit of four: not yet
    ahead.due(NOW + 1, room=1)

    assert ahead.to_resume() == {1: 15}  # read on from after the last record held
    assert ahead.to_resume() == {}


def test_records_read_again_after_a_seek_back_are_not_fresh() -> None:
    ahead = ReadAhead(limit=4)
    ahead.hold(waiting(3, 20, NOW))
    ahead.passed(waiting(4, 7, NOW))

    assert not ahead.fresh(waiting(3, 20, NOW))
    assert not ahead.fresh(waiting(4, 7, NOW))
    assert ahead.fresh(waiting(3, 22, NOW))  # offsets skip transaction markers
    assert ahead.fresh(waiting(5, 0, NOW))


def test_the_first_head_to_act_on_and_each_head_offset() -> None:
    ahead = ReadAhead(limit=4)
    assert ahead.first_act_at() is None
    ahead.hold(waiting(0, 5, NOW + 300))
    ahead.hold(waiting(1, 9, NOW + 1_200))  # tier 1 acts 1 s early: at NOW + 201

    assert ahead.first_act_at() == NOW + 201
    assert (ahead.head_offset(0), ahead.head_offset(1), ahead.head_offset(2)) == (5, 9, None)
