"""The scheduler loop: follow the group, and while leading, publish what is due.

    poll the group (membership and heartbeats; the state records it returns are ignored)
      -> own the state partition: open a term: a transactional producer, whose start fences
         the previous leader's, then the state that leader committed
      -> every tick: `due` per schedule -> one transaction: the jobs and their state records
      -> partition revoked or lost: close the term and stand by
      -> fenced (a newer leader exists): close the term, and open none until the group
         assigns the partition again

Any other failure of a transaction closes the term too; the next tick opens a new one, which
aborts what was left open and re-reads the state, so nothing is published twice or skipped.
"""

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.producers.records import Record, RecordBuilder
from keel.producers.schedule import Schedule, due
from keel.producers.schedule_state import (
    encode_state,
    ensure_state_topic,
    fire_id,
    from_ms,
    read_state,
    to_ms,
)
from keel.producers.scheduler import Scheduler
from keel.producers.settings import ProducerSettings, SchedulerSettings
from keel.schemas.catalog import JobCatalog
from keel.schemas.codec import JobCodec
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
        producer = Producer(
            {**parts.producer_config, "transactional.id": scheduler.transactional_id}
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
        # No transaction open, or a fenced producer: either way nothing of it is visible.
        with contextlib.suppress(KafkaException):
            self._producer.abort_transaction(self._parts.timeout_s)
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


def run_scheduler(
    scheduler: Scheduler,
    stop: threading.Event,
    *,
    cluster: ClusterSettings | None = None,
    producer_settings: ProducerSettings | None = None,
    settings: SchedulerSettings | None = None,
    catalog: JobCatalog | None = None,
) -> None:
    """Run `scheduler` until `stop` is set: stand by, or lead and publish what is due."""
    if not scheduler.schedules:
        raise ValueError(f"scheduler {scheduler.name} has no schedules")
    cluster = cluster or ClusterSettings()
    producer_settings = producer_settings or ProducerSettings()
    settings = settings or SchedulerSettings()
    ensure_state_topic(cluster, scheduler.state_topic, producer_settings.replication_factor)
    with SchemaRegistryClient({"url": cluster.schema_registry_url}) as registry:
        codec = JobCodec(
            registry,
            catalog if catalog is not None else JobCatalog.learning(),
            auto_register=producer_settings.auto_register_schemas,
        )
        builder = RecordBuilder(codec, producer_settings)
        builder.prepare()  # an unreachable registry fails here, not at the first fire
        config = {
            **producer_settings.to_confluent(cluster),
            "transaction.timeout.ms": settings.transaction_timeout_ms,
        }
        parts = Parts(
            scheduler, cluster, config, builder, producer_settings.delivery_timeout_ms / 1000
        )
        _Loop(parts, settings).run(stop)


class _Loop:
    def __init__(self, parts: Parts, settings: SchedulerSettings) -> None:
        self._parts = parts
        self._settings = settings
        self._leadership = Leadership()
        self._fenced_in = -1  # the generation in which this process was fenced
        self._term: Term | None = None

    def run(self, stop: threading.Event) -> None:
        scheduler = self._parts.scheduler
        consumer = Consumer(
            {
                "bootstrap.servers": self._parts.cluster.kafka_bootstrap_servers,
                "group.id": scheduler.group,
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "session.timeout.ms": self._settings.session_timeout_ms,
                **self._settings.librdkafka,
            }
        )
        leadership = self._leadership
        consumer.subscribe(
            [scheduler.state_topic],
            on_assign=leadership.assigned,
            on_revoke=leadership.revoked,
            on_lost=leadership.revoked,
        )
        _LOG.info("%s: standing by (group %s)", scheduler.name, scheduler.group)
        try:
            wait = self._settings.tick_s
            while not stop.is_set():
                consumer.poll(wait)
                wait = self._step()
        finally:
            self._end_term()
            consumer.close()

    def _step(self) -> float:
        """Act on the group's latest word; returns how long to wait before the next step."""
        leadership, tick = self._leadership, self._settings.tick_s
        if not leadership.held:
            self._end_term()
            return tick
        if self._term is None and leadership.generation > self._fenced_in:
            self._term = self._attempt(lambda: Term.open(self._parts))
        term = self._term
        if term is None or self._attempt(lambda: term.fire_due(datetime.now(UTC))) is None:
            return tick
        return min(tick, max(0.0, (term.next_fire() - datetime.now(UTC)).total_seconds()))

    def _attempt(self, action: Callable[[], T]) -> T | None:
        """Run a term's action; on failure end the term (and on fencing, stand by)."""
        try:
            return action()
        except FencedError as error:
            _LOG.warning("%s: %s; standing by", self._parts.scheduler.name, error)
            self._fenced_in = self._leadership.generation
        except (KafkaException, TimeoutError) as error:
            _LOG.warning(
                "%s: term failed (%s); opening a new one", self._parts.scheduler.name, error
            )
        self._end_term()
        return None

    def _end_term(self) -> None:
        if self._term is not None:
            self._term.close()
            self._term = None
            _LOG.info("%s: no longer leading", self._parts.scheduler.name)


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
