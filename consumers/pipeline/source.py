"""The only poller of the Kafka consumer, on a thread of its own.

The thread polls in batches and hands each batch to the event loop; it never waits for a
handler, so a job that runs longer than `max.poll.interval.ms` cannot get the worker evicted.
It does wait, briefly, for the loop to *take* the previous batch (decode it, and run the first
steps of what can start) before it polls again, and applies the pauses that batch caused first:
librdkafka has usually fetched far ahead, and a thread that handed over batch after batch
unchecked would deliver thousands of records before flow control on the loop could pause
anything.
Everything else the consumer does also happens on this thread, in between polls: pause and
resume (making the consumer match the engine's `paused` set whenever flow control changes it),
commits (from the committer: sent asynchronously, answered from a later poll, see
`commit_reports`), and the rebalance callbacks, which librdkafka calls from inside a poll:

- assigned: read the committed offset *and metadata* of each new partition, so the engine skips
  what a previous owner finished above the watermark and counts on the attempts it began (and,
  when it did not hand over cleanly, the partition's end: see `careful`), and the group
  generation they come in (the fences' first part); then assign (paused, if flow control says so).
- revoked:  ask the engine to drain the partitions (nothing new starts, running jobs get until
  the drain deadline less a reserve for the commit), commit what finished (retried while the
  deadline lasts: `commit_retry`), and only then let them go. During shutdown the revoke's
  deadline is the shutdown's, if sooner. The heartbeat goes on while a callback waits within
  its deadline, so a long drain does not fail liveness; a callback stuck beyond it does.
- lost:     the partitions already belong to someone else: drop them, commit nothing.
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from confluent_kafka import Consumer, KafkaException, TopicPartition

from keel.consumers.pipeline import records
from keel.consumers.pipeline.commit_reports import CommitReports
from keel.consumers.pipeline.commit_retry import commit_reserve, commit_until
from keel.consumers.pipeline.deadline import Deadline
from keel.consumers.pipeline.engine import Engine
from keel.consumers.pipeline.generation import generation_of
from keel.consumers.pipeline.intake import take_batch
from keel.consumers.pipeline.markers import PassedMarkers
from keel.consumers.pipeline.metadata import is_sealed
from keel.consumers.pipeline.partition import Position

_LOG = logging.getLogger(__name__)
T = TypeVar("T")
Command = Callable[[Consumer], None]


class Fetcher(Protocol):
    """What waking librdkafka's fetcher needs of the consumer."""

    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float, cached: bool
    ) -> tuple[int, int] | None: ...


COMMITTED_TIMEOUT = 30.0
# Longest wait for the loop to take a batch: bounded, so a stalled loop cannot stop the polls
# (and with them the rebalance callbacks and the liveness heartbeat).
HAND_OVER_WAIT = 1.0
# The request that wakes librdkafka's fetcher after a resume is sent, not waited for: its answer
# could queue behind a fetch in flight on the same connection (see `wake_fetcher`).
WAKE_TIMEOUT = 0.0
# While a rebalance callback waits (within its deadline), the heartbeat is renewed this often.
BEAT_EVERY = 1.0


class Source:
    """Owns the consumer and its thread; the loop talks to it through thread-safe commands."""

    def __init__(
        self,
        connect: Callable[[Mapping[str, Any]], Consumer],
        topics: Sequence[str],
        engine: Engine,
        *,
        batch: int,
        poll_timeout: float,
        drain_timeout: float,
        before_assign: Callable[[list[records.TopicPartition]], None] | None = None,
    ) -> None:
        """`before_assign(tps)` runs on the poll thread before new partitions reach the engine
        (key quarantine reads its held keys there)."""
        self._connect = connect
        self._before_assign = before_assign
        self._topics = list(topics)
        self._engine = engine
        self._batch = batch
        self._poll_timeout = poll_timeout
        self._drain_timeout = drain_timeout
        self._shutdown_deadline: Deadline | None = None  # set by `close`
        self._loop = asyncio.get_running_loop()
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._paused: set[records.TopicPartition] = set()  # what the consumer has paused
        self._sync_queued = False
        self._taken = threading.Event()  # the loop took the last batch handed over
        self._taken.set()
        self._reports = CommitReports()  # asynchronous commits waiting for their answer
        self._markers = PassedMarkers()  # positions past transaction markers, for the engine
        self.heartbeat = time.monotonic()
        self.assignment_received = False
        self._thread = threading.Thread(target=self._run, name="keel-source", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- called on the loop -------------------------------------------------------------------

    def flow(self) -> None:
        """Flow control changed the paused set: make the consumer match it before its next poll."""
        if not self._sync_queued:  # one pending sync reads the latest set; more would repeat it
            self._sync_queued = True
            self._commands.put(self._sync_paused)

    async def commit(self, positions: Mapping[records.TopicPartition, Position]) -> None:
        """Commit `positions` on the consumer's thread; raises if the commit failed."""
        if not self._thread.is_alive():
            raise RuntimeError("the poll thread is not running")
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def commit(consumer: Consumer) -> None:
            if not done.set_running_or_notify_cancel():
                return  # the committer gave up waiting; its next flush commits again
            try:
                sent = _commit(consumer, positions, owned_only=True, asynchronous=True)
            except Exception as error:  # handed to the awaiting committer
                done.set_exception(error)
            else:
                if sent:
                    self._reports.expect(sent, done)  # answered from a later poll
                else:
                    done.set_result(None)

        self._commands.put(commit)
        await asyncio.wrap_future(done)

    async def close(self, deadline: Deadline | None = None) -> None:
        """Stop polling, close the consumer (which revokes, drains and commits), end the thread.

        With a `deadline`, the revoke that closing causes (or one under way) ends by then.
        """
        self._shutdown_deadline = deadline
        self._stopping.set()
        await self._closed

    # -- the consumer's thread ----------------------------------------------------------------

    def _run(self) -> None:
        # Commits are asynchronous: a synchronous one would stop the polls for its round trip.
        consumer = self._connect({"on_commit": self._reports.on_commit})
        try:
            consumer.subscribe(
                self._topics,
                on_assign=self._guarded(self._on_assign),
                on_revoke=self._guarded(self._on_revoke),
                on_lost=self._guarded(self._on_lost),
            )
            self._poll(consumer)
        except Exception:
            _LOG.exception("the poll loop failed")
            raise
        finally:
            try:
                consumer.close()
            finally:
                self._reports.fail_all("the consumer closed before the commit was answered")
                self._loop.call_soon_threadsafe(_resolve, self._closed)

    def _poll(self, consumer: Consumer) -> None:
        while not self._stopping.is_set():
            self._taken.wait(HAND_OVER_WAIT)
            self._apply_commands(consumer)
            messages = take_batch(consumer, self._batch, self._poll_timeout)
            self.heartbeat = time.monotonic()
            if messages:
                self._taken.clear()
                batch = cast(Sequence[records.Message], messages)
                self._loop.call_soon_threadsafe(self._accept, batch)
            # After the batch, in order: the engine has received everything below these.
            if passed := self._markers.passed(consumer):
                self._loop.call_soon_threadsafe(self._engine.passed, passed)
        self._apply_commands(consumer)

    def _accept(self, batch: Sequence[records.Message]) -> None:
        try:
            self._engine.accept(batch)
        finally:
            # After the pass that runs the batch's first steps (their carrier is already
            # scheduled): the jobs that finish there settle first, so flow control has not
            # paused their partitions for records that are already done when the poll comes.
            self._loop.call_soon(self._taken.set)

    def _apply_commands(self, consumer: Consumer) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command(consumer)
            except Exception:
                _LOG.exception("consumer command failed")

    def _sync_paused(self, consumer: Consumer) -> None:
        self._sync_queued = False
        wanted = self._engine.paused
        owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        pause = (wanted & owned) - self._paused
        resume = (self._paused - wanted) & owned
        if pause:
            # librdkafka drops what it fetched ahead for a paused partition and fetches it
            # again on resume: the other partitions' records are next in its queue.
            consumer.pause(_partitions(pause))
        if resume:
            resumed = _partitions(resume)
            consumer.resume(resumed)
            wake_fetcher(consumer, resumed)
        self._paused = set(wanted & owned)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=COMMITTED_TIMEOUT)
        if self._before_assign is not None:
            self._before_assign([(tp.topic, tp.partition) for tp in partitions])
        generation = generation_of(consumer)
        for tp in committed:
            offset = tp.offset if tp.offset >= 0 else None
            end = _careful_end(consumer, tp) if offset is not None else None
            self._on_loop(
                self._engine.assign, (tp.topic, tp.partition), offset, tp.metadata, end, generation
            )
        consumer.incremental_assign(partitions)
        # librdkafka keeps a partition's pause flag across revoke and re-assign: set it either way.
        wanted = self._engine.paused
        pause = [tp for tp in partitions if (tp.topic, tp.partition) in wanted]
        resume = [tp for tp in partitions if (tp.topic, tp.partition) not in wanted]
        if pause:
            consumer.pause(pause)
        if resume:
            consumer.resume(resume)
        self._paused |= {(tp.topic, tp.partition) for tp in pause}
        self.assignment_received = True
        _LOG.info("assigned %s in generation %d", _labels(partitions), generation)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        self._paused.difference_update(tps)
        self._markers.forget(tps)
        deadline = Deadline.after(self._drain_timeout).min(self._shutdown_deadline)
        _LOG.info("draining %s for up to %.1f s", _labels(partitions), deadline.remaining())
        jobs_until = deadline.earlier(commit_reserve(self._drain_timeout))
        revoked = self._engine.revoke(tps, jobs_until.remaining())
        positions = self._await(revoked, alive_until=deadline)
        try:
            commit_until(
                partial(_commit, consumer, positions, owned_only=False),
                deadline.min(self._shutdown_deadline),
                sleep=self._beating_sleep,
            )
        except KafkaException as error:
            _LOG.warning("commit on revoke of %s failed: %s", _labels(partitions), error)
        _LOG.info("revoked %s", _labels(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        self._paused.difference_update(tps)
        self._markers.forget(tps)
        self._on_loop(self._engine.lose, tps)
        _LOG.warning("lost %s: their unfinished jobs will run again elsewhere", _labels(partitions))

    def _guarded(
        self, callback: Callable[[Consumer, list[TopicPartition]], None]
    ) -> Callable[[Consumer, list[TopicPartition]], None]:
        def guarded(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            try:
                callback(consumer, partitions)
            except Exception:
                _LOG.exception("rebalance callback %s failed", callback.__name__)

        return guarded

    def _on_loop(self, function: Callable[..., T], *args: Any) -> T:  # noqa: ANN401 - any call
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(function(*args))
            except Exception as error:
                done.set_exception(error)

        self._loop.call_soon_threadsafe(call)
        return done.result()

    def _await(self, coroutine: Coroutine[Any, Any, T], alive_until: Deadline) -> T:
        """The coroutine's result, run on the loop; the heartbeat goes on until `alive_until`."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        while not alive_until.passed():
            self.heartbeat = time.monotonic()
            with contextlib.suppress(TimeoutError):
                return future.result(min(BEAT_EVERY, alive_until.remaining()))
        return future.result()

    def _beating_sleep(self, seconds: float) -> None:
        self.heartbeat = time.monotonic()
        time.sleep(seconds)


def wake_fetcher(consumer: Fetcher, partitions: list[TopicPartition]) -> None:
    """Make librdkafka fetch the resumed partitions now, not up to a second later.

    `resume` only clears a flag; the broker thread that fetches reads it when it next wakes up:
    when a fetch response arrives, when a request is queued for that broker, or on its 1-second
    tick. With every partition paused no fetch is in flight, so a resumed partition's records
    came 0.3-1 s after the resume (measured in an io50 replay), long after its buffer had run
    dry and its keys' handler slots had gone idle. Asking the partition's leader for its offsets
    queues a request on that broker's thread, which wakes it; the resumed partitions go into the
    next fetch. The call does not wait for the answer (`WAKE_TIMEOUT`), so it costs the poll
    thread microseconds and always "times out"; a fetch already in flight still has to return
    first, which `fetch.wait.max.ms` bounds (see `WorkerSettings.to_confluent`).
    """
    for tp in partitions:
        # A timeout is expected: the request is on its way, and that is all this is for.
        with contextlib.suppress(KafkaException):
            consumer.get_watermark_offsets(tp, timeout=WAKE_TIMEOUT, cached=False)


def _careful_end(consumer: Consumer, tp: TopicPartition) -> int | None:
    """The partition's end, when its previous owner did not hand over cleanly (see `careful`).

    None when it did, or when the end cannot be read (the new owner is then careful throughout).
    """
    if is_sealed(tp.metadata):
        return None
    try:
        end: int = consumer.get_watermark_offsets(tp, timeout=COMMITTED_TIMEOUT, cached=False)[1]
    except KafkaException as error:
        _LOG.warning("cannot read the end of %s/%s: %s", tp.topic, tp.partition, error)
        return None
    return end


def _commit(
    consumer: Consumer,
    positions: Mapping[records.TopicPartition, Position],
    *,
    owned_only: bool,
    asynchronous: bool = False,
) -> list[TopicPartition]:
    """Commit `positions`; the offsets sent (none: nothing to commit)."""
    if owned_only:
        # A partition revoked since the committer looked was committed by the revoke already,
        # and its new owner may be ahead of us.
        owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        positions = {tp: p for tp, p in positions.items() if tp in owned}
    offsets = [
        TopicPartition(topic, partition, p.offset, metadata=p.metadata)
        for (topic, partition), p in positions.items()
    ]
    if offsets and asynchronous:
        consumer.commit(offsets=offsets, asynchronous=True)
    elif offsets:
        consumer.commit(offsets=offsets, asynchronous=False)
    return offsets


def _partitions(tps: Iterable[records.TopicPartition]) -> list[TopicPartition]:
    return [TopicPartition(topic, partition) for topic, partition in tps]


def _labels(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}/{tp.partition}" for tp in partitions) or "nothing"


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)
