"""When a leader's terms open and end, on a group whose word the test gives."""

from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from keel.producers.scheduler.leader import FencedError
from keel.producers.scheduler.terms import Terms

PARTITION = [TopicPartition("state", 0)]
NO_CONSUMER: Any = None


class FakeTerm:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def elected(terms: Terms[FakeTerm]) -> None:
    terms.leadership.assigned(NO_CONSUMER, PARTITION)


def test_no_term_opens_while_the_group_has_not_made_this_process_leader() -> None:
    terms: Terms[FakeTerm] = Terms("test")
    assert terms.open(FakeTerm) is None


def test_a_leader_keeps_one_term_until_the_group_revokes_it() -> None:
    terms: Terms[FakeTerm] = Terms("test")
    elected(terms)
    term = terms.open(FakeTerm)
    assert term is not None
    assert terms.open(FakeTerm) is term
    terms.leadership.revoked(NO_CONSUMER, PARTITION)
    assert terms.open(FakeTerm) is None
    assert term.closed


def test_a_failed_action_ends_the_term_and_the_next_step_opens_another() -> None:
    terms: Terms[FakeTerm] = Terms("test")
    elected(terms)
    first = terms.open(FakeTerm)

    def fail() -> None:
        raise KafkaException("broker away")

    assert terms.attempt(fail) is None
    assert first is not None
    assert first.closed
    second = terms.open(FakeTerm)
    assert second is not None
    assert second is not first


def test_a_fenced_leader_stands_by_until_the_group_elects_it_again() -> None:
    terms: Terms[FakeTerm] = Terms("test")
    elected(terms)
    terms.open(FakeTerm)

    def fenced() -> None:
        raise FencedError("a newer leader exists")

    terms.attempt(fenced)
    assert terms.open(FakeTerm) is None  # same generation: stands by
    elected(terms)  # a later generation
    assert terms.open(FakeTerm) is not None


def test_an_action_that_succeeds_returns_its_result_and_keeps_the_term() -> None:
    terms: Terms[FakeTerm] = Terms("test")
    elected(terms)
    term = terms.open(FakeTerm)
    assert terms.attempt(lambda: 42) == 42
    assert terms.current is term
