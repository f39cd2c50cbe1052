"""A leader's term: fence the previous leader, then publish each fire in one transaction.

`Leadership` is what the group last said (this process owns the state partition, or not).
A `Term` is one stretch of leadership: opening it starts a transactional producer under the
scheduler's one transactional id, which fences every earlier holder, then reads the state that
leader committed; each fire's jobs and its state records then commit together. A fenced term
raises `FencedError` and publishes nothing more. `loop` decides when terms open and close.
"""

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from keel.producers.records import Record, RecordBuilder
from keel.producers.scheduler.app import Scheduler
from keel.producers.scheduler.state import (
    encode_state,
    fire_id,
    from_ms,
    read_state,
    to_ms,
)
from keel.producers.scheduler.triggers import Schedule, due
from keel.schemas import clients
from keel.schemas.headers import SCHEDULE, SCHEDULED_FOR
from keel.schemas.settings import ClusterSettings

_LOG = logging.getLogger(__name__)
_NOW_INCLUSIVE = timedelta(microseconds=1)
T = TypeVar("T")


class FencedError(Exception):
    """A newer leader started a transactional producer with this scheduler's id."""


@dataclass
class Leadership:
    """What the group said last: whether this process owns the state partition.

    `generation` counts assignments, so a fenced process waits for a new one instead of
    fencing the leader that fenced it.
    """

    held: bool = False
    generation: int = 0

    def assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if partitions:
            self.held = True
            self.generation += 1

    def revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.held = False


@dataclass(frozen=True)
class Parts:
    """What a term needs from the process: the scheduler, its settings, and the record builder."""

    scheduler: Scheduler
    cluster: ClusterSettings
    producer_config: dict[str, Any]
    builder: RecordBuilder
    timeout_s: float


class Term:
    """One stretch of leadership, from fencing the previous leader to losing the partition."""

    def __init__(self, parts: Parts, producer: Producer, state: dict[str, datetime]) -> None:
        self._parts = parts
        self._producer = producer
        self.state = state
        self.fired = 0

    @classmethod
    def open(cls, parts: Parts) -> "Term":
        """Fence earlier leaders, read their committed state, anchor schedules that have none."""
        scheduler = parts.scheduler
        producer = clients.producer(
            parts.cluster,
            {**parts.producer_config, "transactional.id": scheduler.transactional_id},
        )
        producer.init_transactions(parts.timeout_s)
        term = cls(parts, producer, read_state(parts.cluster, scheduler.state_topic))
        now = datetime.now(UTC)
        # A schedule never seen before starts counting from now, and that is written down, so
        # a later leader knows which fire times since then were missed.
        fresh = {s.name: now for s in scheduler.schedules if s.name not in term.state}
        if fresh:
            term.commit([], fresh)
        _LOG.info("%s: leading (state %s)", scheduler.name, _describe(term.state))
        return term

    def fire_due(self, now: datetime) -> int:
        """Publish every job due at `now` in one transaction; returns how many."""
        records: list[Record] = []
        through: dict[str, datetime] = {}
        for schedule in self._parts.scheduler.schedules:
            since = self.state[schedule.name]
            latest = schedule.trigger.last_before(now + _NOW_INCLUSIVE)
            if latest <= since:
                continue
            through[schedule.name] = latest
            for at in due(schedule.trigger, since, now, schedule.catch_up):
                record = self._record(schedule, at)
                if record is not None:
                    records.append(record)
        if through:
            self.commit(records, through)
        return len(records)

    def next_fire(self) -> datetime:
        """The earliest fire time not yet handled, over all schedules."""
        return min(
            s.trigger.next_after(self.state[s.name]) for s in self._parts.scheduler.schedules
        )

    def commit(self, records: list[Record], through: dict[str, datetime]) -> None:
        """Publish `records` and the new state in one transaction; raises on any failure."""
        producer, topic = self._producer, self._parts.scheduler.state_topic
        try:
            producer.begin_transaction()
            for record in records:
                producer.produce(record.topic, record.value, record.key, headers=record.headers)
            for name, moment in through.items():
                producer.produce(topic, encode_state(moment), name.encode())
            producer.commit_transaction(self._parts.timeout_s)
        except KafkaException as error:
            raise _failure(error.args[0]) from error
        self.state.update(through)
        self.fired += len(records)
        for record in records:
            _LOG.info("%s: published %s", self._parts.scheduler.name, _describe_fire(record))

    def close(self) -> None:
        """Abort whatever transaction is open and let the producer go."""
        # No transaction open, or a fenced producer: either way nothing of it is visible. A fenced
        # producer's error is fatal and every later call raises it again, flush() included.
        with contextlib.suppress(KafkaException):
            self._producer.abort_transaction(self._parts.timeout_s)
        with contextlib.suppress(KafkaException):
            self._producer.flush(0)

    def _record(self, schedule: Schedule, at: datetime) -> Record | None:
        scope = f"{self._parts.scheduler.name}/{schedule.name}"
        try:
            job = schedule.make(at)
            record = self._parts.builder.build(job, schedule.record_key, fire_id(scope, at))
        except Exception:
            # A factory that fails must not wedge the others or retry forever: the fire time is
            # accounted for and the error is logged with everything needed to fix it.
            _LOG.exception("%s: no job for the fire at %s", scope, at.isoformat())
            return None
        record.headers.extend([(SCHEDULE, schedule.name), (SCHEDULED_FOR, str(to_ms(at)))])
        return record


def _failure(error: KafkaError) -> Exception:
    if error.fatal():
        return FencedError(f"fenced by a newer leader ({error.str()})")
    return KafkaException(error)


def _describe_fire(record: Record) -> str:
    headers = dict(record.headers)
    at = from_ms(int(str(headers[SCHEDULED_FOR])))
    return f"{headers[SCHEDULE]!s} for {at.isoformat()} to {record.topic} as {record.job_id}"


def _describe(state: dict[str, datetime]) -> str:
    return ", ".join(f"{name} through {at.isoformat()}" for name, at in sorted(state.items()))
