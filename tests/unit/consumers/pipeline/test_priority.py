"""The priority lanes' decisions: which lane starts next, which partitions pause."""

from itertools import groupby

import pytest

from keel.consumers import App, Context
from keel.consumers.engine_factory import engine_config, lane_policy
from keel.consumers.pipeline.priority import (
    LanedFlow,
    LanedReady,
    LanePolicy,
    WeightedTurns,
    partition_rank,
)
from keel.consumers.runner import resolve_topics
from keel.consumers.settings import WorkerSettings
from keel.schemas.demo import GenerateReport, SendEmail, demo_catalog

HIGH, DEFAULT, LOW = ("jobs.high", 0), ("jobs", 0), ("jobs.low", 0)
STRICT = LanePolicy("strict")
WEIGHTED = LanePolicy("weighted", (3, 2, 1))


def item_rank(item: tuple[str, int]) -> int:
    return partition_rank((item[0], 0))


def test_partitions_rank_by_their_topics_lane() -> None:
    assert [partition_rank(tp) for tp in (HIGH, DEFAULT, LOW)] == [0, 1, 2]


def test_strict_ready_starts_every_higher_lane_job_first() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(0, item_rank, STRICT)
    for n in range(3):
        ready.push(("jobs.low", n), 1)
        ready.push(("jobs", n), 1)
    ready.push(("jobs.high", 0), 1)
    order = [ready.pop()[0] for _ in range(7)]
    assert order == ["jobs.high"] + ["jobs"] * 3 + ["jobs.low"] * 3
    assert not ready.waiting


def test_a_high_job_arriving_behind_a_low_backlog_is_next() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(0, item_rank, STRICT)
    for n in range(1000):
        ready.push(("jobs.low", n), 1)
    assert ready.pop() == ("jobs.low", 0)
    ready.push(("jobs.high", 7), 1)
    assert ready.pop() == ("jobs.high", 7)
    assert ready.pop() == ("jobs.low", 1)


def test_within_a_lane_the_key_with_most_work_goes_first() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(10, item_rank, STRICT)
    ready.push(("jobs.low", 1), 1)
    ready.push(("jobs.low", 2), 5)
    ready.push(("jobs.low", 3), 1)
    ready.grow(("jobs.low", 3), 9)
    assert [ready.pop()[1] for _ in range(3)] == [3, 2, 1]


def test_weighted_ready_shares_the_starts_by_weight_while_every_lane_waits() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(0, item_rank, WEIGHTED)
    for n in range(60):
        for topic in ("jobs.high", "jobs", "jobs.low"):
            ready.push((topic, n), 1)
    first = [ready.pop()[0] for _ in range(60)]
    assert first.count("jobs.high") == 30
    assert first.count("jobs") == 20
    assert first.count("jobs.low") == 10
    # spread out, not in bursts: smooth round robin runs no lane more than twice in a row
    assert max(len(list(run)) for _, run in groupby(first)) <= 2


def test_weighted_turns_skip_lanes_with_nothing_waiting() -> None:
    turns = WeightedTurns((8, 3, 1))
    assert {turns.pick([False, False, True]) for _ in range(20)} == {2}
    with pytest.raises(IndexError):
        turns.pick([False, False, False])


def test_remove_where_takes_items_out_of_every_lane() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(0, item_rank, STRICT)
    for topic in ("jobs.high", "jobs", "jobs.low"):
        ready.push((topic, 1), 1)
        ready.push((topic, 2), 1)
    removed = ready.remove_where(lambda item: item[1] == 1)
    assert sorted(removed) == [("jobs", 1), ("jobs.high", 1), ("jobs.low", 1)]
    assert len(ready) == 3
    assert ("jobs", 1) not in ready
    assert [ready.pop() for _ in range(3)] == [("jobs.high", 2), ("jobs", 2), ("jobs.low", 2)]
    with pytest.raises(IndexError):
        ready.pop()


def flow(policy: LanePolicy = STRICT) -> LanedFlow[tuple[str, int]]:
    laned: LanedFlow[tuple[str, int]] = LanedFlow(300, 150, partition_rank, policy)
    for tp in (HIGH, DEFAULT, LOW):
        laned.assign(tp)
    return laned


def test_strict_pauses_lower_lanes_while_a_higher_one_holds_work() -> None:
    laned = flow()
    assert laned.admit(LOW, 5) is False
    assert laned.paused == frozenset()
    assert laned.admit(HIGH) is True
    assert laned.paused == {DEFAULT, LOW}
    assert laned.settle(HIGH) is True  # the high lane is empty again: the others fetch
    assert laned.paused == frozenset()
    assert laned.admit(DEFAULT) is True
    assert laned.paused == {LOW}
    assert laned.buffered == 6


def test_strict_keeps_flow_controls_own_pauses() -> None:
    laned = flow()
    laned.admit(HIGH, 100)  # the share is 300 // 3: the high partition is full too
    assert laned.paused == {HIGH, DEFAULT, LOW}
    laned.settle(HIGH, 60)  # down to 40 of its share, below the resume mark (50)
    assert laned.paused == {DEFAULT, LOW}


def test_a_removed_higher_partition_no_longer_holds_the_lower_ones() -> None:
    laned = flow()
    laned.admit(HIGH, 3)
    assert laned.paused == {DEFAULT, LOW}
    assert laned.remove(HIGH) is True
    assert laned.paused == frozenset()
    laned.settle(None, 3)  # its records still finish, and count only in the total
    assert laned.buffered == 0
    assert laned.buffered_in == [0, 0, 0]


def test_a_lower_partition_assigned_while_a_higher_lane_works_starts_paused() -> None:
    laned: LanedFlow[tuple[str, int]] = LanedFlow(300, 150, partition_rank, STRICT)
    laned.assign(HIGH)
    laned.admit(HIGH)
    assert laned.assign(LOW) is True
    assert laned.paused == {LOW}


def test_strict_pauses_lower_lanes_once_a_higher_one_can_fill_the_slots() -> None:
    laned = flow(LanePolicy("strict", hold_at=4))
    assert laned.admit(HIGH, 3) is False  # three start at once: the low lane keeps fetching
    assert laned.paused == frozenset()
    assert laned.admit(HIGH) is True
    assert laned.paused == {DEFAULT, LOW}
    assert laned.settle(HIGH) is True
    assert laned.paused == frozenset()


def test_weighted_pauses_only_what_flow_control_pauses() -> None:
    laned = flow(WEIGHTED)
    laned.admit(HIGH, 10)
    laned.admit(LOW, 100)
    assert laned.paused == {LOW}


def test_a_policy_needs_a_positive_weight_per_lane() -> None:
    with pytest.raises(ValueError, match="weight"):
        LanePolicy("weighted", (1, 0, 1))
    with pytest.raises(ValueError, match="weight"):
        LanePolicy("weighted", (1, 1))
    with pytest.raises(ValueError, match="hold_at"):
        LanePolicy(hold_at=0)
    with pytest.raises(ValueError, match="reserve"):
        LanePolicy(reserve=-1)


def test_a_worker_ranks_lanes_only_when_it_consumes_more_than_one() -> None:
    settings = WorkerSettings(lanes="weighted", lane_weights=(5, 2, 1))
    assert lane_policy(settings, ["jobs", "other"]) is None
    weighted = LanePolicy("weighted", (5, 2, 1), 500, reserve=1, top=0)
    assert lane_policy(settings, ["jobs.high", "jobs"]) == weighted
    strict = engine_config(WorkerSettings(max_in_flight=8), ["jobs", "jobs.low"]).lanes
    assert strict == LanePolicy("strict", hold_at=8, reserve=1, top=1)
    with pytest.raises(ValueError, match="WEIGHTS"):
        lane_policy(WorkerSettings(lane_weights=(1, 1, 0)), ["jobs", "jobs.low"])


def test_the_reserve_defaults_to_one_slot_and_leaves_lower_lanes_at_least_one() -> None:
    lanes = ["jobs.high", "jobs.low"]
    assert lane_policy(WorkerSettings(max_in_flight=1), lanes) == LanePolicy(hold_at=1)
    chosen = lane_policy(WorkerSettings(max_in_flight=10, lane_reserve=3), lanes)
    assert chosen is not None
    assert (chosen.reserve, chosen.reserved(0), chosen.reserved(2)) == (3, 0, 3)
    with pytest.raises(ValueError, match="LANE_RESERVE"):
        lane_policy(WorkerSettings(max_in_flight=4, lane_reserve=4), lanes)


RESERVED = LanePolicy("strict", reserve=2)


def test_lower_lanes_leave_the_reserved_slots_free() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(0, item_rank, RESERVED)
    ready.push(("jobs.low", 0), 1)
    ready.push(("jobs", 0), 1)
    assert ready.pop_within(2) is None  # both free slots are the reserve
    assert ready.pop_within(3) == ("jobs", 0)
    ready.push(("jobs.high", 0), 1)
    assert ready.pop_within(1) == ("jobs.high", 0)  # the highest lane takes a reserved slot
    assert ready.pop_within(1) is None
    assert ready.pop() == ("jobs.low", 0)  # pop() alone knows no slots: nothing is reserved
    assert ready.pop_within(5) is None  # nothing waits


def test_weighted_turns_go_only_to_lanes_that_may_take_a_free_slot() -> None:
    ready: LanedReady[tuple[str, int]] = LanedReady(0, item_rank, LanePolicy("weighted", reserve=1))
    for n in range(5):
        ready.push(("jobs.low", n), 1)
        ready.push(("jobs.high", n), 1)
    assert [ready.pop_within(1) for _ in range(5)] == [("jobs.high", n) for n in range(5)]
    assert ready.pop_within(1) is None
    assert ready.pop_within(2) == ("jobs.low", 0)


def test_a_worker_consumes_every_lane_of_its_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "KEEL_ROUTES",
        '{"keel.jobs.SendEmail": {"topic": "mail", "priority": "low", "lanes": ["high"]},'
        ' "keel.jobs.GenerateReport": {"topic": "reports"}}',
    )
    app = App("shop", catalog=demo_catalog())

    @app.handler(SendEmail)
    async def send(job: SendEmail, ctx: Context) -> None: ...

    @app.handler(GenerateReport)
    async def report(job: GenerateReport, ctx: Context) -> None: ...

    assert resolve_topics(app, WorkerSettings()) == ["mail.high", "mail.low", "reports"]
