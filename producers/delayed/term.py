"""A dispatcher's term: fence the previous leader, then release what is due, exactly once.

Opening a term starts a transactional producer under the dispatcher's one transactional id,
which fences every earlier holder and aborts what it left open, then assigns every tier of the
delayed topic from the offsets committed in the last transaction, and reads the cancels topic to
its end. Each step takes the records whose time has come, in each tier's order, and in ONE
transaction releases them to their routed topics (or refiles them into a lower tier, or drops a
cancelled or expired one, writing a tracked cancelled job's status) together with the tier
offsets past them. A record is thus released
in the transaction that commits its offset, or not at all: a killed, paused or fenced leader
leaves an aborted transaction and an offset that still points at it.

A tier's first record that is not yet due is held until its time, and records read behind it
wait in the read-ahead (ahead.py; timing.py says why that makes none early and bounds lateness).
"""

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from keel.producers.delayed.ahead import ReadAhead
from keel.producers.delayed.cancels import follow
from keel.producers.delayed.job_status import CancelledStatuses
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.progress import resume_offsets
from keel.producers.delayed.records import Waiting
from keel.producers.delayed.settings import DispatcherSettings
from keel.producers.delayed.status import Counts
from keel.producers.delayed.timing import TIERS, act_at_ms, now_ms
from keel.producers.records import Record
from keel.producers.scheduler.leader import FencedError
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.settings import StatusSettings

_LOG = logging.getLogger(__name__)
_CATCH_UP_TIMEOUT_S = 30.0
# A tier whose first record is acted on within this is read ahead; one further away waits
# paused (ahead.py): records behind it cannot be taken before it anyway.
_READ_AHEAD_HORIZON_MS = 5_000


@dataclass(frozen=True)
class DispatchParts:
    """What a term needs from the process."""

    names: DelayedNames
    cluster: ClusterSettings
    producer_config: dict[str, Any]
    settings: DispatcherSettings
    timeout_s: float
    # Where the `cancelled` of a tracked job goes (job_status.py); None: no status is written.
    status: StatusSettings | None = None


class DispatchTerm:
    """One stretch of leadership over the delayed topic."""

    def __init__(self, parts: DispatchParts, producer: Producer, consumer: Consumer) -> None:
        self._parts = parts
        self._producer = producer
        self._consumer = consumer
        self._ahead = ReadAhead(parts.settings.read_ahead, _READ_AHEAD_HORIZON_MS)
        self._cancelled: set[str] = set()
        self._statuses = (
            None
            if parts.status is None
            else CancelledStatuses(
                lambda: clients.admin(parts.cluster), parts.status, parts.timeout_s
            )
        )

    @classmethod
    def open(cls, parts: DispatchParts) -> "DispatchTerm":
        """Fence earlier leaders, resume from their committed offsets, read every cancel."""
        names = parts.names
        producer = clients.producer(
            parts.cluster, {**parts.producer_config, "transactional.id": names.transactional_id}
        )
        producer.init_transactions(parts.timeout_s)
        consumer = clients.consumer(
            parts.cluster,
            names.progress_group,  # never joined: offsets only, committed in transactions
            {
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                "queued.max.messages.kbytes": parts.settings.prefetch_kbytes,
                # A job refiled into tier 0 has under a second left: fetch it back promptly.
                "fetch.wait.max.ms": 100,
            },
        )
        # Asked for here, not left to assign(): a group coordinator that is not ready yet (a
        # fresh cluster) is asked again, and failing that fails the term, to be opened again,
        # instead of stalling the tiers.
        tiers = [TopicPartition(names.topic, p) for p in range(TIERS)]
        starts = resume_offsets(consumer, tiers, parts.timeout_s)
        consumer.assign([*starts, TopicPartition(names.cancels, 0, OFFSET_BEGINNING)])
        term = cls(parts, producer, consumer)
        term._catch_up()
        _LOG.info("dispatcher %s: leading", names.topic)
        return term

    def wait_s(self, tick_s: float) -> float:
        """How long the next step may wait for records: until the first held record's time."""
        first = self._ahead.first_act_at()
        if first is None:
            return tick_s
        return max(0.0, min(tick_s, (first - now_ms()) / 1000))

    def step(self, wait_s: float, counts: Counts) -> None:
        """Release (or refile, or drop) every record whose time has come, in one transaction."""
        room = self._parts.settings.batch
        batch = self._ahead.due(now_ms(), room)
        self._resume()
        if len(batch) < room:
            messages = self._fetch(room - len(batch), 0 if batch else wait_s)
            now = now_ms()
            for message in messages:
                waiting = self._take(message, now)
                if waiting is not None:
                    batch.append(waiting)
        if batch:
            self._commit(batch, counts)

    def _fetch(self, room: int, wait_s: float) -> list[Message]:
        """What is fetched already, up to `room`; else the first record within `wait_s` and what
        came with it. (`consume(room, wait_s)` would wait all of `wait_s` for `room` records.)"""
        messages = self._consumer.consume(room, 0)
        if messages or wait_s <= 0:
            return messages
        first = self._consumer.poll(wait_s)
        if first is None:
            return []
        return [first, *self._consumer.consume(room - 1, 0)] if room > 1 else [first]

    def pending(self) -> dict[int, int]:
        """Records not yet settled per tier, from librdkafka's cached end offsets: no request."""
        topic, found = self._parts.names.topic, {}
        tiers = [TopicPartition(topic, p) for p in range(TIERS)]
        for position in self._consumer.position(tiers):
            tier = position.partition
            held = self._ahead.head_offset(tier)
            at = held if held is not None else position.offset
            _, end = self._consumer.get_watermark_offsets(position, cached=True)
            if at >= 0 and end >= 0:
                found[tier] = max(end - at, 0)
        return found

    def close(self) -> None:
        """Abort whatever transaction is open and let the clients go."""
        with contextlib.suppress(KafkaException):
            self._producer.abort_transaction(self._parts.timeout_s)
        with contextlib.suppress(KafkaException):
            self._producer.flush(0)
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()

    def _catch_up(self) -> None:
        """Read the cancels topic to its end before anything is released."""
        cancels = TopicPartition(self._parts.names.cancels, 0)
        low, end = self._consumer.get_watermark_offsets(cancels, timeout=self._parts.timeout_s)
        if end <= low:
            return  # empty: position() would stay unknown, there being nothing to fetch
        give_up = now_ms() + _CATCH_UP_TIMEOUT_S * 1000
        while self._consumer.position([cancels])[0].offset < end:
            if now_ms() > give_up:
                raise TimeoutError(f"could not read {cancels.topic} to its end")
            message = self._consumer.poll(0.2)
            if message is not None:
                self._take(message, now_ms(), hold_all=True)

    def _take(self, message: Message, now: int, hold_all: bool = False) -> Waiting | None:
        """A record read: a cancel is noted; a tier's record is returned when it is time."""
        error = message.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            return None
        if message.topic() == self._parts.names.cancels:
            follow(self._cancelled, message)
            return None
        waiting, ahead = Waiting.of(message), self._ahead
        if not ahead.fresh(waiting):
            return None  # read again after a seek back: it is held already
        due = act_at_ms(waiting.tier, waiting.due) <= now
        if due and not hold_all and not ahead.holds(waiting.tier):
            ahead.passed(waiting)
            return waiting
        if ahead.hold(waiting, now):
            self._consumer.pause([TopicPartition(self._parts.names.topic, waiting.tier)])
        return None

    def _resume(self) -> None:
        """Fetch again from the paused tiers the read-ahead has room for now."""
        for tier, offset in self._ahead.to_resume(now_ms()).items():
            partition = TopicPartition(self._parts.names.topic, tier, offset)
            self._consumer.resume([partition])
            self._consumer.seek(partition)

    def _commit(self, batch: list[Waiting], counts: Counts) -> None:
        producer, now = self._producer, now_ms()
        offsets: dict[int, int] = {}
        outcomes: list[str] = []
        late_ms: list[int] = []
        try:
            producer.begin_transaction()
            for waiting in batch:
                outcome = self._settle(waiting, now)
                outcomes.append(outcome)
                if outcome == "released":
                    late_ms.append(now - waiting.due)
                offsets[waiting.tier] = waiting.offset + 1
            topic = self._parts.names.topic
            producer.send_offsets_to_transaction(
                [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())],
                self._consumer.consumer_group_metadata(),
                self._parts.timeout_s,
            )
            producer.commit_transaction(self._parts.timeout_s)
        except KafkaException as error:
            raise _failure(error.args[0]) from error
        counts.transactions += 1
        for outcome in outcomes:
            counts.outcomes[outcome] = counts.outcomes.get(outcome, 0) + 1
        for late in late_ms:
            counts.lateness.observe(late)

    def _settle(self, waiting: Waiting, now: int) -> str:
        """Produce what becomes of one record; returns the outcome's name."""
        names = self._parts.names
        if waiting.job_id in self._cancelled:
            self._cancelled.discard(waiting.job_id)
            self._producer.produce(names.cancels, None, waiting.job_id.encode())
            if self._statuses is not None:
                self._statuses.write(self._producer, waiting, now)
            _LOG.info("dispatcher %s: %s cancelled, not released", names.topic, waiting.job_id)
            return "cancelled"
        if waiting.tier > 0 and waiting.due > now:
            self._send(waiting.refiled(names.topic, now))
            return "refiled"
        if waiting.expires is not None and waiting.expires <= now:
            _LOG.warning(
                "dispatcher %s: %s expired before its release", names.topic, waiting.job_id
            )
            return "expired"
        self._send(waiting.released())
        return "released"

    def _send(self, record: Record) -> None:
        self._producer.produce(
            record.topic,
            record.value,
            record.key,
            partition=record.partition,
            headers=record.headers,
        )


def _failure(error: KafkaError) -> Exception:
    if error.fatal():
        return FencedError(f"fenced by a newer dispatcher ({error.str()})")
    return KafkaException(error)
