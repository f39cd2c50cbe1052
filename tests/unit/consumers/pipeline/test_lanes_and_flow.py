import pytest

from keel.consumers.pipeline.flow import FlowControl
from keel.consumers.pipeline.lanes import Lanes


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


def test_a_lane_knows_its_head_and_how_much_work_it_holds() -> None:
    lanes: Lanes[str] = Lanes()
    for item in ("a0", "a1", "a2", "b0"):
        lanes.offer(item[0], item)
    assert (lanes.head("a"), lanes.length("a")) == ("a0", 3)
    assert lanes.release("a") == "a1"
    assert (lanes.head("a"), lanes.length("a")) == ("a1", 2)
    assert (lanes.head("b"), lanes.length("b")) == ("b0", 1)
    assert lanes.release("b") is None
    assert (lanes.head("b"), lanes.length("b")) == (None, 1)  # no lane: a job alone
    assert (lanes.head(None), lanes.length(None)) == (None, 1)  # keyless: never queued


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
    flow: FlowControl[str] = FlowControl(high=4, low=2)
    flow.assign("p")
    assert [flow.admit("p") for _ in range(3)] == [False] * 3
    assert flow.admit("p")
    assert flow.paused == {"p"}
    assert not flow.admit("p", 2)  # a poll batch may overshoot; no second pause
    assert [flow.settle("p") for _ in range(3)] == [False] * 3
    assert flow.paused == {"p"}
    assert flow.settle("p")
    assert flow.paused == set()
    assert not flow.settle("p")
    assert not flow.admit("p")


def test_a_partition_over_its_share_pauses_alone_and_resumes_at_the_low_fraction() -> None:
    # Given three partitions sharing a buffer of 12 (4 each), resuming at half
    flow: FlowControl[str] = FlowControl(high=12, low=6)
    for partition in "abc":
        flow.assign(partition)
    assert flow.share == 4

    # When one partition's backlog reaches its share, only that one pauses
    assert not flow.admit("a", 3)
    assert flow.admit("a")
    assert flow.paused == {"a"}
    assert not flow.admit("b", 3)
    assert flow.buffered == 7

    # Then it resumes once half of its share is left, while the others never stopped
    assert not flow.settle("a")
    assert flow.settle("a")
    assert flow.paused == set()


def test_shares_are_split_again_when_partitions_come_and_go() -> None:
    flow: FlowControl[str] = FlowControl(high=12, low=6)
    flow.assign("a")
    assert flow.share == 12
    assert not flow.admit("a", 7)
    assert flow.assign("b")  # "a" now holds more than its share of 6
    assert flow.share == 6
    assert flow.paused == {"a"}
    assert not flow.settle("a")
    assert flow.remove("b")  # 6 is half of the share of 12 again
    assert flow.paused == set()


def test_records_of_a_partition_no_longer_ours_count_only_in_the_total() -> None:
    flow: FlowControl[str] = FlowControl(high=4, low=1)
    flow.assign("a")
    flow.admit("a", 4)
    assert flow.remove("a")  # no longer ours: nothing to pause
    assert flow.buffered == 4
    assert not flow.settle("a", 4)
    assert flow.buffered == 0
    assert flow.paused == set()


def test_records_of_an_earlier_assignment_do_not_count_against_a_new_one() -> None:
    # Given a partition with records in flight that is revoked and assigned again
    flow: FlowControl[str] = FlowControl(high=4, low=2)
    flow.assign("a")
    flow.admit("a", 3)
    flow.remove("a")
    flow.assign("a")
    assert flow.admit("a", 4)  # the new assignment's own records reach its share

    # When the old assignment's records finish, the new count is untouched
    assert not flow.settle(None, 3)
    assert flow.paused == {"a"}
    assert flow.buffered == 4


def test_every_partition_keeps_a_share_of_at_least_one() -> None:
    flow: FlowControl[str] = FlowControl(high=2, low=1)
    for partition in "abc":
        flow.assign(partition)
    assert flow.share == 1
    assert flow.admit("c")
    assert flow.settle("c")


def test_flow_rejects_marks_in_the_wrong_order() -> None:
    with pytest.raises(ValueError, match="low < high"):
        FlowControl(high=2, low=2)
