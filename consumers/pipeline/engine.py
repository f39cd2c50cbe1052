"""The per-record rules: decode, queue by key, run, decide, settle, and drain on revoke.

Everything here runs on the event loop thread, so no state needs a lock. The engine never
touches Kafka: records come in through `accept`, dead letters leave through a `DeadLetterSink`,
the committer reads `positions()`, and the source reads `paused` (the one value read from
another thread: an immutable set, replaced whole) whenever `on_flow` says it changed.

Every record that is accepted ends in exactly one of: finished (success, or an acknowledged
dead-letter write), dropped on revoke or shutdown (not finished, so never committed: the next
owner runs it), or abandoned with its partition (a lost partition).
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel

from keel.consumers.context import Context
from keel.consumers.middleware import FAILED, PROCESSED, RETRIED, Observer, attempt_scope
from keel.consumers.pipeline.dead_lettering import (
    DeadLetterConfig,
    DeadLetterer,
    Names,
    note_failure,
)
from keel.consumers.pipeline.decode import DecodeStage, Poison, Unavailable
from keel.consumers.pipeline.execute import Execute
from keel.consumers.pipeline.flow import FlowControl
from keel.consumers.pipeline.offsets import PartitionOffsets, decode_finished
from keel.consumers.pipeline.partition import Delivery, PartitionState, Position
from keel.consumers.pipeline.ready import ReadyQueue
from keel.consumers.pipeline.records import Message, TopicPartition
from keel.consumers.pipeline.retry import DeadLetter, Random, RetryAfter, decide
from keel.consumers.pipeline.sink import DeadLetterSink
from keel.consumers.registry import Registration

_LOG = logging.getLogger(__name__)

NO_HANDLER = "no-handler"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The engine's knobs, taken from `WorkerSettings`."""

    group: str
    max_running: int
    high_water: int
    low_water: int
    dead_letter_retry_max: float = 30.0
    # How many other starts may overtake a job waiting for a slot (see `ready`).
    max_overtakes: int = 1000


class Engine:
    """Takes records in, runs their jobs by the rules, and knows what may be committed."""

    def __init__(
        self,
        config: EngineConfig,
        *,
        decode: DecodeStage,
        handlers: Mapping[type[BaseModel], Registration],
        names: Names,
        execute: Execute,
        sink: DeadLetterSink,
        observer: Observer,
        on_flow: Callable[[], None],
        rng: Random,
    ) -> None:
        self._config = config
        self._max_running = config.max_running
        self._decode = decode
        self._handlers = handlers
        self._names = names
        self._execute = execute
        self._observer = observer
        self._on_flow = on_flow
        self._rng = rng
        self._flow: FlowControl[TopicPartition] = FlowControl(config.high_water, config.low_water)
        self._parts: dict[TopicPartition, PartitionState] = {}
        self._ready: ReadyQueue[Delivery] = ReadyQueue(config.max_overtakes)
        self._waiting = self._ready.waiting  # truthy while a job waits for a slot
        self._running = 0
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._dead_letters = DeadLetterer(
            DeadLetterConfig(config.group, config.dead_letter_retry_max),
            sink=sink,
            names=names,
            observer=observer,
            finished=self._finish,
            given_up=self._given_up,
        )

    # -- assignment ---------------------------------------------------------------------------

    def assign(self, tp: TopicPartition, committed: int | None, metadata: str | None) -> None:
        """Own `tp` from its committed offset, skipping what a previous owner finished above."""
        skip = decode_finished(committed, metadata) if committed is not None else []
        part = PartitionState(tp, PartitionOffsets(committed, skip))
        part.draining = self._stopping  # assigned during shutdown: start nothing
        self._parts[tp] = part
        self._signal(self._flow.assign(tp))

    async def revoke(
        self, tps: Iterable[TopicPartition], timeout: float
    ) -> dict[TopicPartition, Position]:
        """Stop starting jobs of `tps`, let running ones finish until `timeout`, give them up.

        Returns the positions to commit before the partitions are released.
        """
        parts = [part for tp in tps if (part := self._parts.pop(tp, None)) is not None]
        await self._drain(parts, timeout)
        positions = _positions(parts)
        for part in parts:
            part.closed = True
            self._signal(self._flow.remove(part.tp))
        return positions

    def lose(self, tps: Iterable[TopicPartition]) -> None:
        """The partitions are gone already (session lost): nothing of them may be committed."""
        for tp in tps:
            part = self._parts.pop(tp, None)
            if part is not None:
                self._begin_drain(part)
                part.closed = True
                self._signal(self._flow.remove(tp))

    async def stop(self, timeout: float) -> None:
        """Start nothing new; let running jobs finish until `timeout`."""
        self._stopping = True
        await self._drain(list(self._parts.values()), timeout)

    def positions(self) -> dict[TopicPartition, Position]:
        """What may be committed now, per owned partition."""
        return _positions(self._parts.values())

    def time_lags(self) -> dict[TopicPartition, float]:
        """Per owned partition, the age in seconds of its oldest unfinished record (0: none)."""
        now_ms = time.time() * 1000
        found = {}
        for tp, part in self._parts.items():
            oldest = part.oldest_unfinished_ms()
            found[tp] = 0.0 if oldest is None else max(now_ms - oldest, 0.0) / 1000
        return found

    def blocked(self) -> dict[str, str]:
        """Partitions whose dead-letter writes fail, with the latest error."""
        return {_label(p.tp): p.blocked for p in self._parts.values() if p.blocked}

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def assigned(self) -> int:
        return len(self._parts)

    @property
    def in_flight(self) -> int:
        return self._flow.in_flight

    @property
    def paused(self) -> frozenset[TopicPartition]:
        """The partitions that must not fetch now (flow control)."""
        return self._flow.paused

    # -- intake -------------------------------------------------------------------------------

    def accept(self, messages: Sequence[Message]) -> None:
        """Take a polled batch: decode every record, then queue each behind its key or start it.

        The whole batch is decoded in one pass before any of it runs: decoding each record
        between the starts of other jobs measured 5-7 us a job slower (the decoder's code and
        data no longer stay in the CPU's caches), more than the rest of the engine costs.
        """
        deliveries = [d for message in messages if (d := self._admit(message)) is not None]
        admitted: dict[TopicPartition, int] = {}
        for delivery in deliveries:
            self._resolve(delivery)
            tp = delivery.part.tp
            admitted[tp] = admitted.get(tp, 0) + 1
        for tp, count in admitted.items():
            self._signal(self._flow.admit(tp, count))
        waiting = self._waiting
        for delivery in deliveries:
            lanes = delivery.part.lanes
            if lanes.offer(delivery.key, delivery):
                self._start(delivery)
            elif waiting:
                head = lanes.head(delivery.key)
                if head is not None:
                    self._ready.grow(head)  # its key's work grew while it waits for a slot

    def _admit(self, message: Message) -> Delivery | None:
        if message.error() is not None:
            _LOG.warning("consumer reported %s", message.error())
            return None
        part = self._parts.get((message.topic(), message.partition()))  # type: ignore[arg-type]
        offset: int = message.offset()  # type: ignore[assignment]
        if part is None or part.draining or not part.offsets.receive(offset):
            return None
        part.arrivals.append(message)  # for the time lag
        return Delivery(message, part)

    def _resolve(self, delivery: Delivery) -> None:
        """Decode a record into its job or the poison it is.

        When the registry cannot say what a record is yet, the record keeps `unavailable` and
        nothing else happens now: it is decoded again once its turn comes (see `_start`), so a
        record waiting behind its key never jumps ahead of it.
        """
        decoded = self._decode(delivery.message.value(), delivery.key)
        if isinstance(decoded, Unavailable):
            delivery.unavailable = decoded
            return
        if isinstance(decoded, Poison):
            delivery.poison = decoded
            return
        registration = self._handlers.get(type(decoded))
        if registration is None:
            name = self._names.job_type(type(decoded))
            message = f"no handler for {name}"
            delivery.poison = Poison(NO_HANDLER, "keel.consumers.NoHandler", message, "")
        delivery.job = decoded
        delivery.job_type = self._names.job_type(type(decoded))
        delivery.registration = registration

    def _decode_later(self, delivery: Delivery, unavailable: Unavailable) -> None:
        delivery.unavailable = None
        _LOG.warning("cannot decode %s yet: %s", _label(delivery.part.tp), unavailable.message)
        delivery.decode_backoff = min(2 * delivery.decode_backoff, 30.0)
        delivery.timer = self._loop.call_later(delivery.decode_backoff, self._retry, delivery)
        delivery.part.waiting.add(delivery)

    # -- running ------------------------------------------------------------------------------

    def _start(self, delivery: Delivery) -> None:
        if delivery.job is None and delivery.poison is None:
            if delivery.unavailable is None:
                self._resolve(delivery)  # its decode timer fired: ask the registry again
            if delivery.unavailable is not None:
                self._decode_later(delivery, delivery.unavailable)
                return
        if delivery.poison is not None:
            self._dead_letters.poison(delivery, delivery.poison)
            return
        if self._running >= self._max_running or self._waiting:
            # Wait for a slot; when one frees, the key with the most work left goes first.
            self._ready.push(delivery, delivery.part.lanes.length(delivery.key))
            return
        self._run(delivery)

    def _run(self, delivery: Delivery) -> None:
        self._running += 1
        delivery.part.busy += 1
        message = delivery.message
        context = Context.of_record(
            delivery.job_type, delivery.attempt, delivery.key, message.headers
        )
        observer = self._observer
        observer.attempt_started(message, context)
        scope = attempt_scope(observer, message, context) if observer.scoped else None
        delivery.started = time.perf_counter()
        self._execute.run(
            delivery.registration,  # type: ignore[arg-type]
            delivery.job,
            context,
            partial(self._settle, delivery),
            scope,
        )

    def _settle(self, delivery: Delivery, error: BaseException | None) -> None:
        """Every attempt ends here, exactly once: the policy decides what follows.

        Never called from inside `_run` (`Execute.run` reports later, on the loop), so
        settling, which starts the key's next job, never nests: a long lane of jobs that end
        at once runs as a queue, not as a recursion.
        """
        elapsed = time.perf_counter() - delivery.started
        self._running -= 1
        part = delivery.part
        part.busy -= 1
        if error is None:  # what decide() calls Done, without asking it: the common case
            self._observer.attempt_ended(
                delivery.job_type, PROCESSED, elapsed, delivery.message, None
            )
            self._finish(delivery)
        else:
            self._failed(delivery, error, elapsed)
        if self._waiting:
            self._start_ready()
        part.check_idle()

    def _failed(self, delivery: Delivery, error: BaseException, elapsed: float) -> None:
        registration: Registration = delivery.registration  # type: ignore[assignment]
        decision = decide(registration.policy, delivery.attempt, error, self._rng)
        job_type = delivery.job_type
        if isinstance(decision, RetryAfter):
            self._observer.attempt_ended(job_type, RETRIED, elapsed, delivery.message, error)
            note_failure(delivery)
            self._schedule_retry(delivery, decision.delay)
        elif isinstance(decision, DeadLetter):
            self._observer.attempt_ended(job_type, FAILED, elapsed, delivery.message, error)
            note_failure(delivery)
            self._dead_letters.failed(delivery, decision, error)
        else:  # Done: the policy forgave the error
            self._observer.attempt_ended(job_type, PROCESSED, elapsed, delivery.message, error)
            self._finish(delivery)

    def _start_ready(self) -> None:
        ready, waiting = self._ready, self._waiting
        while waiting and self._running < self._max_running:
            self._run(ready.pop())

    def _finish(self, delivery: Delivery) -> None:
        part = delivery.part
        if not part.closed:
            part.offsets.finish(delivery.message.offset())  # type: ignore[arg-type]
        following = part.lanes.release(delivery.key)
        self._released(part)
        if following is not None:
            # No slot of its own: with jobs waiting, it competes with them (`_start_ready`).
            self._start(following)

    def _given_up(self, delivery: Delivery) -> None:
        self._released(delivery.part)  # its partition is gone: the next owner runs it

    def _released(self, part: PartitionState, count: int = 1) -> None:
        """`count` records of `part` left the buffer (finished, or given up)."""
        # A closed partition's records count only in the total: the partition may be ours
        # again already, with a count of its own that they were never part of.
        if self._flow.settle(None if part.closed else part.tp, count):
            self._on_flow()

    def _signal(self, changed: bool) -> None:
        if changed:
            self._on_flow()

    # -- retries ------------------------------------------------------------------------------

    def _schedule_retry(self, delivery: Delivery, delay: float) -> None:
        part = delivery.part
        if part.draining:
            self._released(part)
            return
        delivery.attempt += 1
        delivery.timer = self._loop.call_later(delay, self._retry, delivery)
        part.waiting.add(delivery)

    def _retry(self, delivery: Delivery) -> None:
        delivery.part.waiting.discard(delivery)
        delivery.timer = None
        self._start(delivery)

    # -- draining -----------------------------------------------------------------------------

    def _begin_drain(self, part: PartitionState) -> None:
        if part.draining:
            return
        part.draining = True
        dropped = list(part.lanes.drain())
        for delivery in part.waiting:
            if delivery.timer is not None:
                delivery.timer.cancel()
            dropped.append(delivery)
        part.waiting.clear()
        ready = self._ready.remove_where(lambda d: d.part is part)
        if dropped or ready:
            self._released(part, len(dropped) + len(ready))
        part.check_idle()

    async def _drain(self, parts: list[PartitionState], timeout: float) -> None:
        for part in parts:
            self._begin_drain(part)
        waits = [part.idle.wait() for part in parts if part.busy]
        if not waits:
            return
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            busy = [_label(p.tp) for p in parts if p.busy]
            _LOG.warning("drain deadline passed with jobs still running on %s", busy)


def _positions(parts: Iterable[PartitionState]) -> dict[TopicPartition, Position]:
    found = {}
    for part in parts:
        position = part.position()
        if position is not None:
            found[part.tp] = position
    return found


def _label(tp: TopicPartition) -> str:
    return f"{tp[0]}/{tp[1]}"
