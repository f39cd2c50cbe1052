"""A commit that fails on revoke is tried again while the drain's deadline leaves time."""

import pytest
from confluent_kafka import KafkaError, KafkaException

from keel.consumers.pipeline.commit_retry import commit_reserve, commit_until
from keel.consumers.pipeline.deadline import Deadline


class Clock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Failing:
    """A commit that fails its first `times` calls with `code`."""

    def __init__(self, times: int, code: int = KafkaError.REBALANCE_IN_PROGRESS) -> None:
        self.times = times
        self.code = code
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.times:
            raise KafkaException(KafkaError(self.code))


def test_a_commit_that_fails_twice_succeeds_on_the_third_try() -> None:
    clock = Clock()
    commit = Failing(2)

    attempts = commit_until(
        commit,
        Deadline(clock() + 10),
        sleep=clock.sleep,
        clock=clock,
    )

    assert attempts == 3 == commit.calls
    assert clock.slept == [0.1, 0.2]


def test_retries_stop_at_the_deadline_with_the_last_error() -> None:
    clock = Clock()
    commit = Failing(1000)

    with pytest.raises(KafkaException):
        commit_until(
            commit,
            Deadline(clock() + 5),
            sleep=clock.sleep,
            clock=clock,
        )

    assert clock.now <= 100 + 5
    assert commit.calls >= 4


@pytest.mark.parametrize("code", [KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION])
def test_a_commit_the_group_refuses_for_good_is_not_retried(code: int) -> None:
    clock = Clock()
    commit = Failing(1000, code)

    with pytest.raises(KafkaException):
        commit_until(
            commit,
            Deadline(clock() + 10),
            sleep=clock.sleep,
            clock=clock,
        )

    assert commit.calls == 1


def test_a_commit_is_tried_once_even_past_the_deadline() -> None:
    clock = Clock()
    commit = Failing(0)

    assert commit_until(commit, Deadline(0), sleep=clock.sleep, clock=clock) == 1
    assert commit.calls == 1


def test_the_commit_reserve_is_a_quarter_of_a_short_drain_and_at_most_five_seconds() -> None:
    assert commit_reserve(2.0) == 0.5
    assert commit_reserve(50.0) == 5.0
