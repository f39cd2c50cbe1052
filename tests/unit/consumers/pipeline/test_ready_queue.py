"""Who gets a freed handler slot: the pure choice (`keel.consumers.pipeline.ready.ReadyQueue`)."""

import random

import pytest

from keel.consumers.pipeline.ready import ReadyQueue

# Each case: operations in order, then the order `pop` must give back.
#   ("push", item, work)  item waits; its key has `work` jobs buffered (itself included)
#   ("grow", item, n)     n more jobs of the item's key arrived while it waits
#   ("pop",)              a slot frees: the item taken is appended to the result
CASES = [
    pytest.param(
        [("push", "a", 1), ("push", "b", 1), ("push", "c", 1)],
        ["a", "b", "c"],
        id="equal-work-goes-in-arrival-order",
    ),
    pytest.param(
        [("push", "light", 2), ("push", "heavy", 9), ("push", "middle", 5)],
        ["heavy", "middle", "light"],
        id="most-work-first",
    ),
    pytest.param(
        [("push", "a", 3), ("push", "b", 1), ("grow", "b", 5)],
        ["b", "a"],
        id="work-that-arrives-while-waiting-counts",
    ),
    pytest.param(
        [("push", "a", 3), ("grow", "gone", 5), ("push", "b", 2)],
        ["a", "b"],
        id="growing-an-item-that-does-not-wait-changes-nothing",
    ),
    pytest.param(
        [("push", "a", 2), ("push", "b", 4), ("pop",), ("push", "b-next", 3)],
        ["b", "b-next", "a"],
        id="a-finishing-keys-next-job-competes-like-any-other",
    ),
    pytest.param(
        [("push", "a", 2), ("push", "b", 4), ("pop",), ("push", "b-next", 1)],
        ["b", "a", "b-next"],
        id="and-loses-to-a-key-with-more-work",
    ),
]


def _run(max_overtakes: int, operations: list[tuple[object, ...]]) -> list[str]:
    queue: ReadyQueue[str] = ReadyQueue(max_overtakes)
    taken: list[str] = []
    for operation in operations:
        if operation[0] == "push":
            queue.push(str(operation[1]), int(operation[2]))  # type: ignore[call-overload]
        elif operation[0] == "grow":
            queue.grow(str(operation[1]), int(operation[2]))  # type: ignore[call-overload]
        else:
            taken.append(queue.pop())
    while queue:
        taken.append(queue.pop())
    return taken


@pytest.mark.parametrize(("operations", "expected"), CASES)
def test_a_freed_slot_goes_to_the_key_with_the_most_work_left(
    operations: list[tuple[object, ...]], expected: list[str]
) -> None:
    assert _run(1000, operations) == expected


def test_with_no_overtakes_allowed_it_is_a_plain_queue_in_arrival_order() -> None:
    operations: list[tuple[object, ...]] = [("push", "light", 1), ("push", "heavy", 9)]
    assert _run(0, operations) == ["light", "heavy"]


def test_an_overdue_job_goes_first_and_jobs_overdue_behind_it_follow_in_arrival_order() -> None:
    # Given a light job, then another, waiting behind heavy ones (2 overtakes allowed)
    queue: ReadyQueue[str] = ReadyQueue(2)
    queue.push("light-1", 1)
    queue.push("light-2", 1)
    for n in range(6):
        queue.push(f"heavy-{n}", 10)
    # Then two heavy jobs overtake them, and then both light ones start, oldest first
    taken = [queue.pop() for _ in range(5)]
    assert taken == ["heavy-0", "heavy-1", "light-1", "light-2", "heavy-2"]


def test_no_waiting_job_is_overtaken_more_than_the_bound_while_heavy_keys_keep_growing() -> None:
    # Given random pushes of light and heavy jobs, heavy keys' work growing all the time
    rng = random.Random(7)
    max_overtakes = 25
    queue: ReadyQueue[int] = ReadyQueue(max_overtakes)
    began: dict[int, tuple[int, int]] = {}  # item -> (starts so far, jobs waiting) at its push
    heavy: set[int] = set()
    starts = 0
    worst_slack = max_overtakes
    for item in range(5_000):
        began[item] = (starts, len(queue))
        if rng.random() < 0.7:
            heavy.add(item)
        queue.push(item, rng.randrange(20, 60) if item in heavy else 1)
        for waiting in rng.sample(list(queue), min(len(queue), 3)):
            if waiting in heavy:  # the heavy keys keep receiving records
                queue.grow(waiting, rng.randrange(1, 5))
        while queue and rng.random() < 0.45:
            # When a slot frees
            taken = queue.pop()
            starts += 1
            pushed_at, ahead = began.pop(taken)
            overtaken = starts - 1 - pushed_at
            # Then the job taken was overtaken at most max_overtakes times, plus once for each
            # job that was waiting before it
            assert overtaken <= max_overtakes + ahead
            worst_slack = min(worst_slack, max_overtakes + ahead - overtaken)
    assert len(queue) > 50  # the queue was under pressure the whole time
    assert worst_slack <= 1  # and jobs came within one start of the bound: it is not vacuous


def test_without_the_bound_a_light_job_waits_as_long_as_heavier_ones_keep_coming() -> None:
    queue: ReadyQueue[str] = ReadyQueue(10**9)
    queue.push("light", 1)
    for n in range(100):
        queue.push(f"heavy-{n}", 5)
        assert queue.pop() != "light"


def test_removed_jobs_never_start_and_the_rest_keep_their_order() -> None:
    queue: ReadyQueue[str] = ReadyQueue(1000)
    for item, work in [("p0-a", 5), ("p1-a", 4), ("p0-b", 3), ("p1-b", 2)]:
        queue.push(item, work)
    assert sorted(queue.remove_where(lambda item: item.startswith("p0"))) == ["p0-a", "p0-b"]
    assert "p0-a" not in queue
    assert [queue.pop(), queue.pop()] == ["p1-a", "p1-b"]
    with pytest.raises(IndexError):
        queue.pop()


def test_a_job_may_wait_again_after_it_started() -> None:
    # A job whose attempt failed waits for a slot again for its retry
    queue: ReadyQueue[str] = ReadyQueue(1000)
    queue.push("retry", 1)
    queue.push("other", 1)
    assert queue.pop() == "retry"
    queue.push("retry", 3)
    assert [queue.pop(), queue.pop()] == ["retry", "other"]


def test_negative_overtakes_are_refused() -> None:
    with pytest.raises(ValueError, match="max_overtakes"):
        ReadyQueue(-1)
