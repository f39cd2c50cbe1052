import pytest

from consumers.pipeline.flow import FlowControl, Signal
from consumers.pipeline.lanes import Lanes


def test_same_key_runs_one_at_a_time_in_offset_order() -> None:
    lanes: Lanes[int] = Lanes()
    started = [offset for offset, key in enumerate("aabab") if lanes.offer(key, offset)]
    assert started == [0, 2]  # the first "a" and the first "b"
    assert lanes.release("a") == 1
    assert lanes.release("a") == 3
    assert lanes.release("b") == 4
    assert lanes.release("a") is None
    assert lanes.release("b") is None
    assert lanes.active() == 0


def test_a_head_waiting_to_retry_holds_back_only_its_key() -> None:
    lanes: Lanes[str] = Lanes()
    assert lanes.offer("slow", "slow-1")  # head: it fails and waits for its retry
    assert not lanes.offer("slow", "slow-2")
    assert lanes.offer("fast", "fast-1")
    assert lanes.release("fast") is None
    assert lanes.offer("fast", "fast-2")
    assert lanes.queued() == 1


def test_keyless_records_never_queue() -> None:
    lanes: Lanes[int] = Lanes()
    assert all(lanes.offer(None, n) for n in range(3))
    assert lanes.release(None) is None
    assert lanes.active() == 0


def test_drain_gives_back_queued_items_not_running_heads() -> None:
    lanes: Lanes[int] = Lanes()
    for offset, key in enumerate("aaab"):
        lanes.offer(key, offset)
    assert sorted(lanes.drain()) == [1, 2]
    assert lanes.active() == 0


def test_flow_pauses_at_high_and_resumes_at_low_without_flapping() -> None:
    flow = FlowControl(high=4, low=2)
    assert [flow.admit() for _ in range(3)] == [Signal.NONE] * 3
    assert flow.admit() is Signal.PAUSE
    assert flow.admit(2) is Signal.NONE  # a poll batch may overshoot; no second pause
    assert [flow.settle() for _ in range(3)] == [Signal.NONE] * 3
    assert flow.settle() is Signal.RESUME
    assert flow.settle() is Signal.NONE
    assert flow.admit() is Signal.NONE


def test_flow_rejects_marks_in_the_wrong_order() -> None:
    with pytest.raises(ValueError, match="low < high"):
        FlowControl(high=2, low=2)
