"""The per-record rules: decode, queue by key, run, decide, settle, and drain on revoke.

Everything here runs on the event loop thread, so no state needs a lock. The engine never
touches Kafka: records come in through `accept`, dead letters leave through `DeadLetters`,
the committer reads `positions()`, and the source reads `paused` (the one value read from
another thread: an immutable set, replaced whole) whenever `on_flow` says it changed.

Every record that is accepted ends in exactly one of: finished (success, or an acknowledged
dead-letter write), dropped on revoke or shutdown (not finished, so never committed: the next
owner runs it), or abandoned with its partition (a lost partition).

After a freeze of the loop (`ownership`), nothing of the partitions owned then starts or
settles until `confirm` (a commit went through) or until they are revoked or lost.
"""

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from pydantic import BaseModel

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.context import Context
from keel.consumers.pipeline.careful import CarefulStarts, CommitNow
from keel.consumers.pipeline.decode import DecodeStage, Poison, Unavailable
from keel.consumers.pipeline.drain import wait_idle
from keel.consumers.pipeline.execute import Execute, NotStarted
from keel.consumers.pipeline.expiry import Expiry, expires_at
from keel.consumers.pipeline.flow import FlowControl
from keel.consumers.pipeline.holds import CircuitReading, Holds
from keel.consumers.pipeline.inherit import Wait, lost_error, take_over, verdict
from keel.consumers.pipeline.metadata import CommitMetadata, decode_metadata
from keel.consumers.pipeline.observer import (
    FAILED,
    PROCESSED,
    RETRIED,
    Observer,
    attempt_scope,
    ended_hook,
    started_hook,
)
from keel.consumers.pipeline.offsets import PartitionOffsets
from keel.consumers.pipeline.ownership import FreezeWatch, FrozenHolds
from keel.consumers.pipeline.partition import PartitionState, Position, RecordState, note_failure
from keel.consumers.pipeline.priority import LanedFlow, LanedReady, LanePolicy, partition_rank
from keel.consumers.pipeline.quarantine import KeyQuarantine
from keel.consumers.pipeline.ready import ReadyQueue
from keel.consumers.pipeline.records import Message, TopicPartition
from keel.consumers.registrations import OnExpired, Registration
from keel.consumers.retry_policy import DeadLetter, Random, RetryAfter, decide

_LOG = logging.getLogger(__name__)
# The one clock an attempt reads, at its start and at its settle: the settle's reading gives both
# the handler's time and the freeze check (`ownership`), whose watch ticks on the same clock.
perf_counter = time.perf_counter

NO_HANDLER = "no-handler"

Settled = Callable[[RecordState], None]


class Names(Protocol):
    """How the pipeline names things it does not own: job types and dead-letter topics."""

    def job_type(self, model: type[BaseModel]) -> str: ...
    def dead_letter_topic(self, topic: str) -> str: ...


class DeadLetters(Protocol):
    """Sets records aside; calls back `finished` once a write is acknowledged."""

    def poison(self, record: RecordState, reason: Poison) -> None: ...
    def failed(self, record: RecordState, decision: DeadLetter, error: BaseException) -> None: ...


class DeadLettersFactory(Protocol):
    """Builds the engine's `DeadLetters`, given what to call when a write ends."""

    def __call__(self, *, finished: Settled, given_up: Settled) -> DeadLetters: ...


class QuarantineFactory(Protocol):
    """Builds the engine's `KeyQuarantine`, given how a record finishes or is given up."""

    def __call__(self, *, finish: Settled, given_up: Settled) -> KeyQuarantine: ...


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The engine's knobs, taken from `WorkerSettings`."""

    max_running: int
    high_water: int
    low_water: int
    # How many other starts may overtake a job waiting for a slot (see `ready`).
    max_overtakes: int = 1000
    # The circuit of every job type whose registration has none of its own (see `holds`).
    circuit: CircuitPolicy = field(default_factory=CircuitPolicy)
    # A loop that did not run for longer than this (seconds) may have lost its partitions
    # (see `ownership`); None: never suspect.
    suspect_after: float | None = None
    # Priority lanes among the consumed topics (see `priority`); None: one lane, no ranking.
    lanes: LanePolicy | None = None
    # What becomes of an expired job of a type that does not say (see `expiry`), and the clock
    # its expiry is read against (epoch seconds).
    on_expired: OnExpired = "dead-letter"
    clock: Callable[[], float] = time.time


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
        dead_letters: DeadLettersFactory,
        observer: Observer,
        on_flow: Callable[[], None],
        rng: Random,
        quarantine: QuarantineFactory | None = None,
        commit_now: CommitNow | None = None,
    ) -> None:
        """`commit_now` commits positions at once; without it, attempts are not made durable."""
        self._config = config
        self._max_running = config.max_running
        self._decode = decode
        self._names = names
        # What decoding a handled job type leads to, found with one lookup per record.
        self._kinds = {model: (r, names.job_type(model)) for model, r in handlers.items()}
        self._execute = execute
        self._observer = observer
        self._attempt_started = started_hook(observer)
        self._attempt_ended = ended_hook(observer)
        self._on_flow = on_flow
        self._rng = rng
        self._flow: FlowControl[TopicPartition] | LanedFlow[TopicPartition]
        self._ready: ReadyQueue[RecordState] | LanedReady[RecordState]
        if config.lanes is None:
            self._flow = FlowControl(config.high_water, config.low_water)
            self._ready = ReadyQueue(config.max_overtakes)
        else:  # higher lanes fetch and start first (see `priority`)
            lanes = config.lanes
            self._flow = LanedFlow(config.high_water, config.low_water, partition_rank, lanes)
            self._ready = LanedReady(config.max_overtakes, _record_rank, lanes)
        self._parts: dict[TopicPartition, PartitionState] = {}
        self._waiting = self._ready.waiting  # truthy while a job waits for a slot
        self._running = 0
        self._stopping = False
        self._cut = asyncio.Event()  # set: drains stop waiting (the shutdown's jobs share ended)
        self._loop = asyncio.get_running_loop()
        self.quarantine = (
            quarantine(finish=self._finish, given_up=self._given_up) if quarantine else None
        )
        # A dead letter's write, acknowledged, goes through the freeze check (`_letter_written`)
        # and then the quarantine (which holds the key) before the record counts as finished.
        self._dead_letters = dead_letters(finished=self._letter_written, given_up=self._given_up)
        self._expiry = Expiry(
            config.on_expired,
            observer=observer,
            dead_letter=self._dead_letters.poison,
            finish=self._finish,
            later=self._loop.call_soon,
            clock=config.clock,
        )
        self._holds = Holds(
            {names.job_type(m): r.circuit or config.circuit for m, r in handlers.items()},
            loop=self._loop,
            release=self._unhold,
        )
        self._tripped = self._holds.tripped  # truthy while a job type's circuit is open
        self._ok = self._holds.ok
        self._careful = (
            None if commit_now is None else CarefulStarts(commit_now, self._launch, self._abandon)
        )
        self._frozen = FrozenHolds()
        self._watch = FreezeWatch(config.suspect_after, self._suspect_owned, perf_counter)
        self._watch.start(self._loop)
        # Called with the freeze's epoch once partitions turn suspect; whoever can prove
        # ownership (the worker, with a commit) calls `confirm(epoch)`. Alone, nothing can.
        self.on_suspect: Callable[[int], object] = self.confirm
        execute.may_begin = self._may_begin

    # -- assignment ---------------------------------------------------------------------------

    def assign(
        self,
        tp: TopicPartition,
        committed: int | None,
        metadata: str | None,
        careful_below: int | None = None,
        generation: int = 0,
    ) -> None:
        """Own `tp` from its committed offset, going on where a previous owner left off.

        What it finished above the watermark is skipped, and the attempts it began carry on
        (see `inherit`). If it did not hand over cleanly, the starts of offsets below
        `careful_below` (the partition's end now; None: unknown, so all) are recorded first.
        `generation`: the group generation it was assigned in, the first part of its fences.
        """
        found = decode_metadata(committed, metadata) if committed is not None else CommitMetadata()
        part = PartitionState(tp, PartitionOffsets(committed, found.finished), generation)
        part.inherited = dict(found.in_flight)
        part.on_quiet = self._unpark
        if self._careful is not None:
            if found.sealed:
                careful_below = None
            elif careful_below is None:
                careful_below = sys.maxsize
            self._careful.guard(part, careful_below)
        part.draining = self._stopping  # assigned during shutdown: start nothing
        if self._config.lanes is not None:  # slots its jobs leave to higher lanes
            part.reserved = self._config.lanes.reserved(partition_rank(tp))
        self._parts[tp] = part
        if self.quarantine is not None:
            self.quarantine.assign(tp)  # its held keys, before any of its records runs
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
            self._forget(part.tp)
            self._signal(self._flow.remove(part.tp))
        return positions

    def passed(self, positions: Mapping[TopicPartition, int]) -> None:
        """The consumer's position moved past offsets it never delivers (see `markers`)."""
        for tp, offset in positions.items():
            part = self._parts.get(tp)
            if part is not None and not part.draining:  # a draining one drops what it receives
                part.offsets.pass_to(offset)

    def lose(self, tps: Iterable[TopicPartition]) -> None:
        """The partitions are gone already (session lost): nothing of them may be committed."""
        for tp in tps:
            part = self._parts.pop(tp, None)
            if part is not None:
                self._begin_drain(part)
                part.closed = True
                self._forget(tp)
                self._signal(self._flow.remove(tp))
                self._disown(part)

    async def stop(self, timeout: float) -> None:
        """Start nothing new; let running jobs finish until `timeout`."""
        self._stopping = True
        self._watch.stop()
        await self._drain(list(self._parts.values()), timeout)

    def cut_drains(self) -> None:
        """Every drain, under way or to come, stops waiting for running jobs."""
        self._cut.set()

    def confirm(self, epoch: int) -> bool:
        """A commit went through after freeze `epoch`: its suspect partitions are still ours.

        False when another freeze has been seen since (that one needs its own proof).
        """
        if epoch != self._frozen.epoch:
            return False
        parts = [part for part in self._parts.values() if part.suspect]
        for part in parts:
            part.suspect = False
        self._release_held(parts)
        return True

    @property
    def suspect(self) -> int:
        """How many owned partitions wait for `confirm` after a freeze."""
        return sum(1 for part in self._parts.values() if part.suspect)

    def under_way(self) -> Iterator[RecordState]:
        """The records whose attempt is running now (started, not settled), in no order."""
        for part in self._parts.values():
            for record in part.begun:
                if record.started > record.ended:
                    yield record

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

    def circuits(self) -> dict[str, CircuitReading]:
        """Each job type's circuit: its state, held jobs and transitions."""
        return self._holds.readings()

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def assigned(self) -> int:
        return len(self._parts)

    @property
    def buffered(self) -> int:
        """Records accepted and not finished: queued, waiting, running or being dead-lettered."""
        return self._flow.buffered

    @property
    def running(self) -> int:
        """Handlers executing now (at most `max_running`)."""
        return self._running

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
        self._watch.froze()  # a batch that waited through a freeze: see the freeze first
        records = [d for message in messages if (d := self._admit(message)) is not None]
        admitted: dict[TopicPartition, int] = {}
        for record in records:
            self._resolve(record)
            tp = record.part.tp
            admitted[tp] = admitted.get(tp, 0) + 1
        for tp, count in admitted.items():
            self._signal(self._flow.admit(tp, count))
        waiting = self._waiting
        for record in records:
            lanes = record.part.lanes
            if lanes.offer(record.key, record):
                self._start(record)
            elif waiting:
                head = lanes.head(record.key)
                if head is not None:
                    self._ready.grow(head)  # its key's work grew while it waits for a slot

    def _admit(self, message: Message) -> RecordState | None:
        if message.error() is not None:
            _LOG.warning("consumer reported %s", message.error())
            return None
        part = self._parts.get((message.topic(), message.partition()))  # type: ignore[arg-type]
        offset: int = message.offset()  # type: ignore[assignment]
        if part is None or part.draining or not part.offsets.receive(offset):
            return None
        part.arrivals.add(offset, message.timestamp()[1])  # for the time lag
        record = RecordState(message, part, offset)
        if part.inherited and (entry := part.inherited.pop(offset, None)) is not None:
            take_over(record, entry, crashed=part.careful_below is not None)
            part.begun.add(record)
        return record

    def _resolve(self, record: RecordState) -> None:
        """Decode a record into its job or the poison it is.

        When the registry cannot say what a record is yet, the record keeps `unavailable` and
        nothing else happens now: it is decoded again once its turn comes (see `_start`), so a
        record waiting behind its key never jumps ahead of it.
        """
        decoded = self._decode(record.message.value(), record.key)
        if isinstance(decoded, Unavailable):
            record.unavailable = decoded
            return
        if isinstance(decoded, Poison):
            record.poison = decoded
            return
        record.job = decoded
        kind = self._kinds.get(type(decoded))
        if kind is not None:
            record.registration, record.job_type = kind
        else:
            record.job_type = name = self._names.job_type(type(decoded))
            message = f"no handler for {name}"
            record.poison = Poison(NO_HANDLER, "keel.consumers.NoHandler", message, "")
        record.expires_ms = expires_at(record.message.headers())

    def _decode_later(self, record: RecordState, unavailable: Unavailable) -> None:
        record.unavailable = None
        _LOG.warning("cannot decode %s yet: %s", _label(record.part.tp), unavailable.message)
        record.decode_backoff = min(2 * record.decode_backoff, 30.0)
        record.timer = self._loop.call_later(record.decode_backoff, self._retry, record)
        record.part.waiting.add(record)

    # -- running ------------------------------------------------------------------------------

    def _start(self, record: RecordState) -> None:
        if self._held_back(record):
            return
        if record.job is None and record.poison is None:
            if record.unavailable is None:
                self._resolve(record)  # its decode timer fired: ask the registry again
            if record.unavailable is not None:
                self._decode_later(record, record.unavailable)
                return
        if record.poison is not None:
            self._dead_letters.poison(record, record.poison)
            return
        if record.part.guarded and self._careful.must_wait(record):  # type: ignore[union-attr]
            return  # parked: a suspect runs alone (see `careful`)
        if record.inherited is not None and self._resume(record):
            return
        if self._running >= self._max_running - record.part.reserved or self._waiting:
            # Wait for a slot; when one frees, the key with the most work left goes first.
            self._ready.push(record, record.part.lanes.length(record.key))
            if self._running < self._max_running:  # lower lanes wait; it may take a reserved slot
                self._start_ready()
            return
        self._run(record)

    def _held_back(self, record: RecordState) -> bool:
        """True when `record` may not start: its partition is suspect, or its key is held."""
        # Every way to a start enters the loop through `accept`, `_settle`, `_retry` or
        # `_letter_written`, which look for a freeze first; the flag is all that is left to read.
        if record.part.suspect:
            self._frozen.starts.append(record)
            return True
        # A held key's record is parked (or is a marker that ends a hold).
        return self.quarantine is not None and self.quarantine.takes(record)

    def _run(self, record: RecordState) -> None:
        if record.expires_ms and self._expiry.stops(record):
            return  # expired before its start: dead-lettered or dropped, never run
        if self._tripped and not self._holds.admits(record):
            self._hold(record)
            return
        self._running += 1
        part = record.part
        part.busy += 1
        record.begun += 1
        part.begun.add(record)
        if part.guarded:
            self._careful.start(record)  # type: ignore[union-attr]  # guarded only with one
        else:
            self._launch(record)

    def _launch(self, record: RecordState) -> None:
        message = record.message
        context = Context.of_record(
            record.job_type, record.attempt, record.key, message.headers, record
        )
        observer = self._observer
        if self._attempt_started is not None:
            self._attempt_started(message, context)
        scope = attempt_scope(observer, message, context) if observer.scoped else None
        record.started = perf_counter()
        self._execute.run(
            record.registration,  # type: ignore[arg-type]
            record.job,
            context,
            partial(self._settle, record),
            scope,
        )

    def _settle(self, record: RecordState, error: BaseException | None) -> None:
        """Every attempt ends here, exactly once: the policy decides what follows.

        Never called from inside `_run` (`Execute.run` reports later, on the loop), so
        settling, which starts the key's next job, never nests: a long lane of jobs that end
        at once runs as a queue, not as a recursion.
        """
        part = record.part
        watch = self._watch
        now = perf_counter()
        if part.suspect or now - watch.seen > watch.limit:
            watch.froze()  # says so, and makes the owned partitions suspect
            if part.suspect:
                self._frozen.settles.append((record, error))
                return
        elapsed = now - record.started
        record.ended = now  # no longer under way (see `under_way`)
        self._running -= 1
        part.busy -= 1
        if error is None:  # what decide() calls Done, without asking it: the common case
            self._attempt_ended(record.job_type, PROCESSED, elapsed, record, None)
            self._ok[record.job_type] += 1  # for its circuit (see `holds`)
            if self._tripped:
                self._holds.succeeded(record)
            self._finish(record)
        else:
            self._failed(record, error, elapsed)
        if self._waiting:
            self._start_ready()
        part.check_idle()

    def _failed(self, record: RecordState, error: BaseException, elapsed: float) -> None:
        if isinstance(error, NotStarted):
            self._begin_again(record, error)
            return
        registration: Registration = record.registration  # type: ignore[assignment]
        decision = decide(registration.policy, record.attempt, error, self._rng)
        job_type = record.job_type
        if self._holds.failed(record, decision):  # its circuit is open: the attempt is not counted
            self._attempt_ended(job_type, RETRIED, elapsed, record, error)
            self._hold(record)
            return
        if isinstance(decision, RetryAfter):
            self._attempt_ended(job_type, RETRIED, elapsed, record, error)
            self._observer.retry_scheduled(
                record.message, job_type, record.attempt, decision.delay, error
            )
            note_failure(record)
            self._schedule_retry(record, decision.delay)
        elif isinstance(decision, DeadLetter):
            self._attempt_ended(job_type, FAILED, elapsed, record, error)
            note_failure(record)
            self._dead_letters.failed(record, decision, error)
        else:  # Done: the policy forgave the error
            self._attempt_ended(job_type, PROCESSED, elapsed, record, error)
            self._finish(record)

    def _resume(self, record: RecordState) -> bool:
        """An inherited record's first turn here: True when it does not start now."""
        registration: Registration = record.registration  # type: ignore[assignment]
        found = verdict(record, registration.policy.max_attempts, int(time.time() * 1000))
        if isinstance(found, Wait):
            record.timer = self._loop.call_later(found.seconds, self._retry, record)
            record.part.waiting.add(record)
            return True
        if isinstance(found, DeadLetter):
            record.attempt = record.begun
            note_failure(record)
            self._dead_letters.failed(record, found, lost_error(record.begun))
            return True
        return False

    def _unpark(self, part: PartitionState) -> None:
        """Nothing of `part` is busy: offer its parked starts again, in the order they came."""
        for record in self._careful.unpark(part) if self._careful is not None else ():
            self._start(record)

    def _abandon(self, record: RecordState) -> None:
        """A start held for its record (see `careful`) will not run: its partition drains."""
        self._running -= 1
        part = record.part
        part.busy -= 1
        self._released(part)
        if self._waiting:
            self._start_ready()

    def _start_ready(self) -> None:
        ready, waiting = self._ready, self._waiting
        while waiting and self._running < self._max_running:
            record = ready.pop_within(self._max_running - self._running)
            if record is None:
                return  # only lower lanes wait, and the free slots are reserved (`priority`)
            if record.part.suspect:
                self._frozen.starts.append(record)
            else:
                self._run(record)

    def _finish(self, record: RecordState) -> None:
        part = record.part
        part.begun.discard(record)
        if not part.closed:
            part.offsets.finish(record.offset)
        following = part.lanes.release(record.key)
        self._released(part)
        if following is not None:
            # No slot of its own: with jobs waiting, it competes with them (`_start_ready`).
            self._start(following)

    def _letter_written(self, record: RecordState) -> None:
        self._watch.froze()
        if self.quarantine is None or record.expired:  # an expired job holds no key
            self._finish(record)
        else:
            self.quarantine.dead_lettered(record)  # holds its key, then finishes it

    def _given_up(self, record: RecordState) -> None:
        self._released(record.part)  # its partition is gone: the next owner runs it

    def _released(self, part: PartitionState, count: int = 1) -> None:
        """`count` records of `part` left the buffer (finished, or given up)."""
        # A closed partition's records count only in the total: the partition may be ours
        # again already, with a count of its own that they were never part of.
        if self._flow.settle(None if part.closed else part.tp, count):
            self._on_flow()

    def _forget(self, tp: TopicPartition) -> None:
        if self.quarantine is not None:
            self.quarantine.forget(tp)

    def _signal(self, changed: bool) -> None:
        if changed:
            self._on_flow()

    # -- retries ------------------------------------------------------------------------------

    def _schedule_retry(self, record: RecordState, delay: float) -> None:
        part = record.part
        record.due_ms = int(time.time() * 1000 + delay * 1000)  # for the next owner too
        if part.draining:
            self._released(part)
            return
        record.attempt += 1
        record.timer = self._loop.call_later(delay, self._retry, record)
        part.waiting.add(record)

    def _retry(self, record: RecordState) -> None:
        record.part.waiting.discard(record)
        record.timer = None
        record.due_ms = 0
        self._watch.froze()
        self._start(record)

    # -- circuits (see `holds`) -----------------------------------------------------------------

    def _hold(self, record: RecordState) -> None:
        part = record.part
        if part.draining:
            self._released(part)  # the next owner runs it
            return
        part.waiting.add(record)  # a revoke drops it like a job waiting for its retry
        self._holds.hold(record)

    def _unhold(self, record: RecordState) -> bool:
        if record not in record.part.waiting:
            return False  # dropped with its partition meanwhile
        record.part.waiting.discard(record)
        self._start(record)
        return True

    # -- draining -----------------------------------------------------------------------------

    def _begin_drain(self, part: PartitionState) -> None:
        if part.draining:
            return
        part.draining = True
        dropped = list(part.lanes.drain())
        for record in part.waiting:
            if record.timer is not None:
                record.timer.cancel()
            dropped.append(record)
        part.waiting.clear()
        ready = self._ready.remove_where(lambda d: d.part is part)
        dropped += part.parked
        part.parked = []
        if dropped or ready:
            self._released(part, len(dropped) + len(ready))
        for record in self._careful.drop(part) if self._careful is not None else ():
            self._abandon(record)
        part.check_idle()

    async def _drain(self, parts: list[PartitionState], timeout: float) -> None:
        for part in parts:
            self._begin_drain(part)
        # A revoke (or our own stop) in a live generation: what was held was ours to settle.
        for part in parts:
            part.suspect = False
        self._release_held(parts)
        waits = [part.idle.wait() for part in parts if part.busy]
        if not waits:
            return
        if not await wait_idle(waits, timeout, self._cut):
            busy = [_label(p.tp) for p in parts if p.busy]
            _LOG.warning("drain deadline passed with jobs still running on %s", busy)

    # -- ownership after a freeze (see `ownership`) ---------------------------------------------

    def _suspect_owned(self, gap: float) -> None:
        owned = list(self._parts.values())
        if not owned:
            return  # nothing to lose
        for part in owned:
            part.suspect = True
        self._frozen.epoch += 1
        _LOG.warning(
            "the worker did not run for %.1fs: nothing of its %d partitions starts or settles "
            "until a commit shows they are still its own",
            gap,
            len(owned),
        )
        self.on_suspect(self._frozen.epoch)

    def _release_held(self, parts: Iterable[PartitionState]) -> None:
        """Settle and start what was held of `parts`, which are no longer suspect."""
        starts, settles = self._frozen.take(parts)
        for record, error in settles:
            self._settle(record, error)  # of a lost partition: disowned, as `_settle` says
        for record in starts:
            if record.part.draining:
                self._released(record.part)
            else:
                self._start(record)

    def _may_begin(self, done: object) -> bool:
        """Asked in a pool thread as a queued sync attempt is about to begin; reads only."""
        if not isinstance(done, partial) or not done.args:
            return True
        part: PartitionState = done.args[0].part
        return not (part.suspect or part.closed or self._watch.frozen_now())

    def _begin_again(self, record: RecordState, error: NotStarted) -> None:
        """A sync attempt did not begin (a freeze, a lost partition): start it again, or drop it."""
        self._attempt_ended(record.job_type, RETRIED, 0.0, record, error)
        part = record.part
        if part.closed or part.draining:
            self._released(part)
        else:
            self._start(record)

    def _disown(self, part: PartitionState) -> None:
        """`part` was lost: what was held of it ends unsettled, and its async runs are cancelled."""
        part.suspect = False
        self._release_held([part])
        cancelled = self._execute.cancel(partial(_settles_of, part))
        if cancelled:
            _LOG.warning("cancelled %d running jobs of lost %s", cancelled, _label(part.tp))


def _settles_of(part: PartitionState, done: object) -> bool:
    """Whether an attempt's `done` callback (`_run` binds it to its record) is of `part`."""
    if not isinstance(done, partial) or not done.args:
        return False
    record = done.args[0]
    return isinstance(record, RecordState) and record.part is part


def _positions(parts: Iterable[PartitionState]) -> dict[TopicPartition, Position]:
    found = {}
    for part in parts:
        position = part.position()
        if position is not None:
            found[part.tp] = position
    return found


def _label(tp: TopicPartition) -> str:
    return f"{tp[0]}/{tp[1]}"


def _record_rank(record: RecordState) -> int:
    return partition_rank(record.part.tp)
