"""The answers to asynchronous commits, matched to the commits that asked.

A synchronous `Consumer.commit` holds the poll thread for the coordinator's round trip: no poll
while it waits, so every record that arrives then waits too. With the committer's interval of
0.5-1 s that was a latency spike every commit (6 ms at the median, up to 39 ms on a busy
machine; docs/benchmarks.md). An asynchronous commit returns at once and librdkafka answers it
through the consumer's `on_commit` callback, from a later `poll`/`consume` on the same thread.

librdkafka answers asynchronous commits in the order they were sent, and only those (a
synchronous commit, as on revoke, has no callback), so a queue of waiting futures pairs each
answer with its commit. Each answer also names its partitions, which are checked against the
commit's: a mismatch means the pairing broke, and the commit is failed rather than trusted.
"""

import collections
import concurrent.futures
import logging
from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, TopicPartition

_LOG = logging.getLogger(__name__)

Partitions = frozenset[tuple[str, int]]
Waiting = tuple[Partitions, concurrent.futures.Future[None]]


class Answered(Protocol):
    """A partition of a commit's answer (`confluent_kafka.TopicPartition` fits it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def error(self) -> KafkaError | None: ...


class CommitMismatchError(RuntimeError):
    """An answer to an asynchronous commit named other partitions than the commit sent."""


class CommitReports:
    """Futures of commits sent and not yet answered, oldest first; poll-thread only."""

    def __init__(self) -> None:
        self._waiting: collections.deque[Waiting] = collections.deque()

    def __len__(self) -> int:
        return len(self._waiting)

    def expect(
        self, partitions: Sequence[TopicPartition], done: concurrent.futures.Future[None]
    ) -> None:
        """A commit of `partitions` was sent; `done` gets its answer."""
        self._waiting.append((_names(partitions), done))

    def on_commit(self, error: KafkaError | None, partitions: Sequence[Answered]) -> None:
        """librdkafka's `on_commit`: settle the oldest commit waiting for its answer."""
        if not self._waiting:
            _LOG.warning("an answer to a commit nobody waits for: %s", error)
            return
        sent, done = self._waiting.popleft()
        if _names(partitions) != sent:
            done.set_exception(CommitMismatchError(f"sent {sorted(sent)}, answered {partitions}"))
        elif error is not None:
            done.set_exception(KafkaException(error))
        elif failed := [tp for tp in partitions if tp.error is not None]:
            done.set_exception(KafkaException(failed[0].error))
        else:
            done.set_result(None)

    def fail_all(self, reason: str) -> None:
        """The consumer is closing: no answer will come for the commits still waiting."""
        while self._waiting:
            _, done = self._waiting.popleft()
            done.set_exception(RuntimeError(reason))


def _names(partitions: Sequence[TopicPartition] | Sequence[Answered]) -> Partitions:
    return frozenset((tp.topic, tp.partition) for tp in partitions)
