"""The read-ahead: records behind a tier's head wait in order; a tier whose head is far away, or
a read-ahead at its budget, is paused, and resumed when both have room again."""

from keel.producers.delayed.ahead import ReadAhead
from keel.producers.delayed.records import Waiting

NOW = 1_800_000_000_000
HORIZON_MS = 5_000


def waiting(tier: int, offset: int, due: int) -> Waiting:
    return Waiting(tier, offset, None, b"", [], due, f"job-{tier}-{offset}", None, "jobs")


def test_records_behind_a_head_not_yet_due_wait_for_it_even_when_due_themselves() -> None:
    ahead = ReadAhead(budget=10, horizon_ms=HORIZON_MS)
    ahead.hold(waiting(0, 1, NOW + 500), NOW)
    ahead.hold(waiting(0, 2, NOW + 100), NOW)  # due before the head: still behind it

    assert ahead.due(NOW + 200, room=10) == []
    assert [w.offset for w in ahead.due(NOW + 500, room=10)] == [1, 2]
    assert not ahead.holds(0)


def test_due_takes_at_most_room_records_lowest_tier_first() -> None:
    ahead = ReadAhead(budget=10, horizon_ms=HORIZON_MS)
    for offset in range(3):
        ahead.hold(waiting(0, offset, NOW), NOW)
    ahead.hold(waiting(2, 0, NOW + 1_999), NOW)  # tier 2 acts when under 2 s remain

    taken = ahead.due(NOW, room=2)

    assert [(w.tier, w.offset) for w in taken] == [(0, 0), (0, 1)]
    assert [(w.tier, w.offset) for w in ahead.due(NOW, room=5)] == [(0, 2), (2, 0)]


def test_a_full_read_ahead_pauses_the_tier_and_resumes_it_half_empty() -> None:
    ahead = ReadAhead(budget=4, horizon_ms=HORIZON_MS)
    paused = [ahead.hold(waiting(1, offset, NOW + 1_000), NOW) for offset in range(10, 14)]
    assert paused == [False, False, False, True]
    assert not ahead.hold(waiting(1, 14, NOW + 1_000), NOW)  # same fetch: kept, paused once

    ahead.due(NOW + 1, room=2)
    assert ahead.to_resume(NOW + 1) == {}  # three held of a budget of four: not yet
    ahead.due(NOW + 1, room=1)

    assert ahead.to_resume(NOW + 1) == {1: 15}  # read on from after the last record held
    assert ahead.to_resume(NOW + 1) == {}


def test_a_tier_whose_head_is_beyond_the_horizon_waits_paused_until_it_is_near() -> None:
    ahead = ReadAhead(budget=100, horizon_ms=HORIZON_MS)
    far = NOW + 60_000  # tier 6 acts 32 s before it is due: at NOW + 28 s

    assert ahead.hold(waiting(6, 3, far), NOW)
    assert ahead.to_resume(NOW) == {}
    assert ahead.to_resume(far - 32_000 - HORIZON_MS + 1) == {6: 4}


def test_records_read_again_after_a_seek_back_are_not_fresh() -> None:
    ahead = ReadAhead(budget=4, horizon_ms=HORIZON_MS)
    ahead.hold(waiting(3, 20, NOW), NOW)
    ahead.passed(waiting(4, 7, NOW))

    assert not ahead.fresh(waiting(3, 20, NOW))
    assert not ahead.fresh(waiting(4, 7, NOW))
    assert ahead.fresh(waiting(3, 22, NOW))  # offsets skip transaction markers
    assert ahead.fresh(waiting(5, 0, NOW))


def test_the_first_head_to_act_on_and_each_head_offset() -> None:
    ahead = ReadAhead(budget=4, horizon_ms=HORIZON_MS)
    assert ahead.first_act_at() is None
    ahead.hold(waiting(0, 5, NOW + 300), NOW)
    ahead.hold(waiting(1, 9, NOW + 1_200), NOW)  # tier 1 acts 1 s early: at NOW + 201

    assert ahead.first_act_at() == NOW + 201
    assert (ahead.head_offset(0), ahead.head_offset(1), ahead.head_offset(2)) == (5, 9, None)


def test_records_fetched_behind_a_far_head_are_not_kept_nor_block_the_near_tiers() -> None:
    # Given a far tier paused at its head, whose fetch under way still brings many records
    ahead = ReadAhead(budget=4, horizon_ms=HORIZON_MS)
    far = NOW + 7 * 86_400_000
    assert ahead.hold(waiting(20, 0, far), NOW)
    for offset in range(1, 10):
        assert not ahead.hold(waiting(20, offset, far), NOW)
    # Then none of them is kept: the tier is read again from after its head
    assert ahead.fresh(waiting(20, 1, far))

    # And a near tier paused for the budget resumes once it has drained
    for offset in range(4):
        ahead.hold(waiting(0, offset, NOW + 100), NOW)
    ahead.due(NOW + 100, room=3)
    assert ahead.to_resume(NOW + 100) == {0: 4}
