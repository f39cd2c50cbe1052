"""Each answer to an asynchronous commit settles the commit that asked, and only that one."""

import concurrent.futures
from dataclasses import dataclass

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from keel.consumers.pipeline.commit_reports import CommitMismatchError, CommitReports


def _sent(reports: CommitReports, *partitions: int) -> concurrent.futures.Future[None]:
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    reports.expect([TopicPartition("jobs", p, 10) for p in partitions], done)
    return done


def _answer(*partitions: int) -> list[TopicPartition]:
    return [TopicPartition("jobs", p, 10) for p in partitions]


def test_answers_settle_commits_in_the_order_they_were_sent() -> None:
    reports = CommitReports()
    first, second = _sent(reports, 0, 1), _sent(reports, 2)
    reports.on_commit(None, _answer(1, 0))
    assert first.done()
    assert first.result() is None
    assert not second.done()
    reports.on_commit(None, _answer(2))
    assert second.done()
    assert second.result() is None
    assert len(reports) == 0


def test_a_refused_commit_fails_its_future_with_the_error() -> None:
    reports = CommitReports()
    done = _sent(reports, 0)
    reports.on_commit(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), _answer(0))
    with pytest.raises(KafkaException):
        done.result(timeout=0)


@dataclass
class _Answered:
    """A partition of an answer with an error set (read-only on a real TopicPartition)."""

    topic: str
    partition: int
    error: KafkaError | None = None


def test_an_error_on_one_partition_fails_the_commit() -> None:
    reports = CommitReports()
    done = _sent(reports, 0, 1)
    refused = KafkaError(KafkaError.OFFSET_METADATA_TOO_LARGE)
    answer = [_Answered("jobs", 0), _Answered("jobs", 1, refused)]
    reports.on_commit(None, answer)
    with pytest.raises(KafkaException):
        done.result(timeout=0)


def test_an_answer_for_other_partitions_is_not_taken_for_success() -> None:
    reports = CommitReports()
    done = _sent(reports, 0)
    reports.on_commit(None, _answer(5))
    with pytest.raises(CommitMismatchError):
        done.result(timeout=0)


def test_an_answer_nobody_waits_for_is_ignored() -> None:
    reports = CommitReports()
    reports.on_commit(None, _answer(0))  # no exception, nothing to settle
    assert len(reports) == 0


def test_closing_fails_every_commit_still_waiting() -> None:
    reports = CommitReports()
    first, second = _sent(reports, 0), _sent(reports, 1)
    reports.fail_all("closed")
    for done in (first, second):
        with pytest.raises(RuntimeError, match="closed"):
            done.result(timeout=0)
