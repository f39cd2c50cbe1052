"""The worker's side: a beat every few seconds, off the hot path, and a tombstone at the end.

A task on the worker's event loop wakes every `interval` seconds, reads the metrics snapshot the
worker already keeps (`telemetry.metrics`: counters by outcome, running, buffered, the owned
partitions) and hands one small record to its own producer, built through `keel.schemas.clients`.
Nothing runs per job: the cost is one snapshot and one `produce` per interval.

On a clean stop the worker writes a tombstone for its key, so it disappears from `keel workers`
at once; a worker that crashed writes nothing and ages out (keel.consumers.beats.reader).

Beats are a view for operators, never a reason to stop: a missing topic is created (compacted),
and a refusal (no Write on the topic, no Create) or an unreachable broker is logged once, and
the worker runs on. A beat that cannot be queued (the producer's queue full while the broker is
away) is skipped: the next one says the same, newer.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from keel.consumers.beats.beat import Beat, Counts, WorkerId, beat_of, encode
from keel.consumers.telemetry.metrics import Snapshot
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.access import refusal
from keel.schemas.beats import TOPIC_CONFIG, TOPIC_PARTITIONS, BeatSettings
from keel.schemas.settings import ClusterSettings

_LOG = logging.getLogger(__name__)
PRODUCER_CONFIG = {
    "linger.ms": 20,
    "queue.buffering.max.messages": 100,  # a broker away for long: skip beats, do not hoard
    "message.timeout.ms": 30_000,  # undelivered for this long, a beat is stale anyway
}
# The longest a clean stop waits for its tombstone: never the whole shutdown deadline, which the
# worker's commit and close need more (a tombstone lost only leaves the worker to age out).
TOMBSTONE_WAIT_S = 3.0


def this_process(group: str, child: int | None) -> WorkerId:
    """The id of the running process in `group` (its slot `child` under a supervisor)."""
    return WorkerId(group, socket.gethostname(), os.getpid(), child)


class Heartbeat:
    """Publishes the beats of one worker process until stopped, then its tombstone."""

    def __init__(
        self,
        settings: BeatSettings,
        cluster: ClusterSettings,
        worker: WorkerId,
        read: Callable[[], Snapshot],
        *,
        clock: Callable[[], float] = time.time,
        producer: Producer | None = None,
    ) -> None:
        """`read` returns the worker's metrics snapshot; it is called on the event loop.

        Without a `producer`, one is built through `keel.schemas.clients` once beats start, after
        the topic is ensured; a benchmark hands its own."""
        self.settings = settings
        self.worker = worker
        self._cluster = cluster
        self._read = read
        self._clock = clock
        self._producer = producer
        self._before: Counts | None = None
        self._task: asyncio.Task[None] | None = None
        self._told: set[int] = set()  # error codes already logged since the last delivery

    def start(self) -> None:
        """Start beating on the running loop (the topic is ensured first, off the loop)."""
        if self.settings.enabled:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="keel-beats")

    async def stop(self, timeout: float) -> None:
        """Stop beating; write the tombstone and wait up to `timeout` s for it to be delivered."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._producer is not None:
            await asyncio.to_thread(self._tombstone, self._producer, timeout)

    async def _run(self) -> None:
        if self._producer is None:
            self._producer = await asyncio.to_thread(self._connect)
        while True:
            self.beat()
            await asyncio.sleep(self.settings.interval)

    def beat(self) -> Beat | None:
        """Publish one beat now (on the loop thread); the beat, or None if it was skipped."""
        if self._producer is None:
            return None
        beat = beat_of(
            self.worker, self._read(), self._clock(), self.settings.interval, self._before
        )
        self._before = beat.now
        try:
            self._producer.produce(
                self.settings.topic, encode(beat), self.worker.key(), on_delivery=self._delivered
            )
        except BufferError:
            return None
        except KafkaException as refused:  # librdkafka already knows: no Write on the topic
            self._delivered(refused.args[0], None)
            return None
        finally:
            self._producer.poll(0)  # reports of earlier beats
        return beat

    def _connect(self) -> Producer:
        _ensure_topic(self._cluster, self.settings)
        return clients.producer(self._cluster, PRODUCER_CONFIG)

    def _tombstone(self, producer: Producer, timeout: float) -> None:
        """Write the tombstone; wait for it unless beats are failing now (refused, broker away)."""
        wait = 0.0 if self._told else min(timeout, TOMBSTONE_WAIT_S)
        try:
            producer.produce(
                self.settings.topic, None, self.worker.key(), on_delivery=self._delivered
            )
        except BufferError:
            _LOG.warning("no tombstone for this worker's beats: the producer's queue is full")
        except KafkaException as refused:
            self._delivered(refused.args[0], None)
        if not producer.flush(max(wait, 0.0)):
            return
        if not self._told:
            _LOG.warning("no tombstone delivered for this worker's beats: it will show as gone")
        producer.purge()  # what is left would only hold up the process's exit

    def _delivered(self, error: KafkaError | None, _message: Message | None) -> None:
        if error is None:
            self._told.clear()
            return
        if error.code() in self._told:
            return
        self._told.add(error.code())
        why = refusal(error, "Write", self.settings.topic) or error.str()
        _LOG.warning("worker beats not published (%s): `keel workers` will not show it", why)


def _ensure_topic(cluster: ClusterSettings, settings: BeatSettings) -> None:
    """Create the beats topic if it is missing; a refusal or failure is a warning."""
    try:
        report = ensure_topics(
            clients.admin(cluster), {settings.topic: TOPIC_PARTITIONS}, config=TOPIC_CONFIG
        )
    except KafkaException as error:
        _LOG.warning("beats topic %s not checked: %s", settings.topic, error.args[0].str())
        return
    for name, why in report.refused.items():
        _LOG.warning("beats topic %s not created: %s", name, why)
