"""The worker's own CPU cost per job, in process: `python -m keel.load.engine_bench`.

Publishes `--jobs` SendEmail records to a new 12-partition topic (1,000 keys), reads them back
into memory once, then alternates rounds of:

1. baseline: per record, strip the Confluent frame, fastavro-decode, pydantic-validate, and
   await a no-op async handler (what a hand-written loop does per record);
2. keel: the same records handed to a real `Engine` in poll batches of 500 (the worker's codec,
   decode stage, carrier tasks, lanes, offsets, flow control and metrics observer), with the
   cycle collector set as `keel worker` sets it (for both loops).

It prints the event loop thread's CPU time per job (`time.thread_time`), the median and the
lowest of the rounds. No broker round trip and no other thread take part, so on a shared
machine these figures move far less than the wall-clock rates of `keel load run`; they measure
the framework's cost per job, not the consumer's. Without KAFKA_BOOTSTRAP_SERVERS it starts a
private local stack. Numbers are printed, never asserted.

With `--status`, a third path runs the engine with every job's status recorded
(`keel.consumers.status`, to a real status topic of its own), and prints the ratio of the two
engines' loop-thread CPU; the status producer's own librdkafka threads are not in it.
"""

import argparse
import asyncio
import io
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from confluent_kafka import Message
from fastavro import schemaless_reader

from keel.consumers import App, Context, collector
from keel.consumers.engine_factory import build_engine
from keel.consumers.pipeline import records
from keel.consumers.pipeline.engine import EngineConfig
from keel.consumers.pipeline.observer import observers
from keel.consumers.pipeline.records import Header
from keel.consumers.settings import WorkerSettings
from keel.consumers.status.recorder import StatusRecorder, Tracked
from keel.consumers.telemetry.metrics import Metrics
from keel.load.topics import delete_topics
from keel.load.worker_bench import cluster, publish, reader_from_start
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.settings import StatusSettings

_BATCH = 500
_STATUS_PARTITIONS = 6
_FRAME = 5


async def _no_op(job: SendEmail, ctx: Context) -> None:
    pass


class _NoSink:
    """Nothing in this benchmark is dead-lettered; a write would be a bug."""

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
        done: Callable[[str | None], None],
    ) -> None:
        raise RuntimeError(f"unexpected dead letter for {topic}")


def read_back(settings: ClusterSettings, topic: str, count: int) -> list[Message]:
    messages: list[Message] = []
    with reader_from_start(settings, topic, "engine-bench") as consumer:
        while len(messages) < count:
            messages += [m for m in consumer.consume(_BATCH, 1.0) if m.error() is None]
    return messages[:count]


def baseline_cpu(messages: Sequence[Message]) -> float:
    """Loop-thread CPU seconds per job of decode + validate + a no-op handler."""
    parsed = demo_catalog().of(SendEmail).parsed
    context = Context("", "keel.jobs.SendEmail", 1, None)

    async def run() -> float:
        started = time.thread_time()
        for message in messages:
            body = io.BytesIO(message.value() or b"")
            body.seek(_FRAME)
            job = SendEmail.model_validate(schemaless_reader(body, parsed, None))
            await _no_op(job, context)
        return time.thread_time() - started

    return asyncio.run(run()) / len(messages)


def engine_cpu(
    settings: ClusterSettings, messages: Sequence[Message], status_topic: str | None = None
) -> float:
    """Loop-thread CPU seconds per job of the same records run by a real `Engine`.

    With `status_topic`, each job's status is recorded there too (job status on).
    """
    return asyncio.run(_engine_cpu(settings, messages, status_topic)) / len(messages)


def _recorder(settings: ClusterSettings, topic: str | None) -> StatusRecorder | None:
    if topic is None:
        return None
    return StatusRecorder(
        lambda extra: clients.producer(settings, {"linger.ms": 5, **extra}),
        topic,
        _STATUS_PARTITIONS,
        Tracked(frozenset({SendEmail.get_fullname()})),
        later=asyncio.get_running_loop().call_later,
        linger_s=StatusSettings().linger_ms / 1000,
    )


async def _engine_cpu(
    settings: ClusterSettings, messages: Sequence[Message], status_topic: str | None
) -> float:
    app = App("engine-bench")
    app.handler(SendEmail)(_no_op)
    with (
        clients.registry(settings) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        codec = JobCodec(client, demo_catalog(), auto_register=False)
        codec.decode(messages[0].value())  # the writer schema is fetched once, before timing
        status = _recorder(settings, status_topic)
        engine = build_engine(
            app,
            decoder=codec,
            sink=_NoSink(),
            pool=pool,
            config=EngineConfig(500, high_water=len(messages) + 1, low_water=1),
            catalog=codec.catalog,
            observer=observers([Metrics(), status]),
        )
        if status is not None:
            status.watch(engine.under_way)
        for topic, partition in {(m.topic() or "", m.partition() or 0) for m in messages}:
            engine.assign((topic, partition), None, None)
        polled = cast(Sequence[records.Message], messages)
        batches = [polled[n : n + _BATCH] for n in range(0, len(polled), _BATCH)]
        started = time.thread_time()
        for batch in batches:
            engine.accept(batch)
            await asyncio.sleep(0)  # the loop's next pass runs the batch's attempts
        while engine.buffered:
            await asyncio.sleep(0)
        if status is not None:
            status.send()  # the last window's statuses, counted
        spent = time.thread_time() - started
        if status is not None:
            status.close(30)
    if engine.buffered:
        raise RuntimeError(f"{engine.buffered} jobs did not finish")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--status", action="store_true", help="Also the engine with job status.")
    args = parser.parse_args()
    # The collector as `keel worker` sets it, for both loops: the baseline's garbage dies young,
    # so this can only help it.
    collector.tune(WorkerSettings().gc_threshold)
    with cluster() as settings:
        topic = f"engine-bench-{uuid.uuid4().hex[:8]}"
        publish(settings, topic, args.jobs, 1000)
        messages = read_back(settings, topic, args.jobs)
        status_topic = _status_topic(settings) if args.status else None
        delete_topics(settings, [topic])  # read into memory: not needed on the broker any more
        plain: list[float] = []
        keel: list[float] = []
        tracked: list[float] = []
        for _ in range(args.rounds):
            plain.append(baseline_cpu(messages) * 1e6)
            keel.append(engine_cpu(settings, messages) * 1e6)
            if status_topic is not None:
                tracked.append(engine_cpu(settings, messages, status_topic) * 1e6)
        if status_topic is not None:
            delete_topics(settings, [status_topic])
    paths = [("baseline", plain), ("keel engine", keel), ("with status", tracked)]
    for name, spent in paths[: 3 if tracked else 2]:
        print(f"{name:12s} {statistics.median(spent):5.1f} us/job (lowest {min(spent):.1f})")
    print(f"baseline / keel: {statistics.median(plain) / statistics.median(keel):.2f}")
    if tracked:
        print(f"with status / keel: {statistics.median(tracked) / statistics.median(keel):.3f}")


def _status_topic(settings: ClusterSettings) -> str:
    """A status topic of this run's own, as `keel topics ensure --status` makes one."""
    topic = f"engine-bench-status-{uuid.uuid4().hex[:8]}"
    config = StatusSettings().topic_config()
    ensure_topics(clients.admin(settings), {topic: _STATUS_PARTITIONS}, config=config)
    return topic


if __name__ == "__main__":
    main()
