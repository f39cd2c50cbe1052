"""A quick worker benchmark until the load harness exists: `python -m keel.load.worker_bench`.

Runs, against one broker, in one process each:
1. baseline: a plain confluent-kafka loop with fastavro decode and pydantic validation;
2. keel with a no-op async handler (target: at least 0.7 of the baseline);
3. keel with 50 ms async handlers over 1,000 keys (target: 0.9 of max_in_flight / 50 ms).

Without KAFKA_BOOTSTRAP_SERVERS it starts a private local stack on free ports and stops it after.
Numbers are printed, never asserted.
"""

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.cimpl import NewTopic
from fastavro import schemaless_reader

from keel.consumers import App, Context, WorkerSettings
from keel.consumers.runner import Worker
from keel.deploy.local import private_stack
from keel.load.topics import delete_groups, delete_topics
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic


@contextmanager
def cluster() -> Iterator[ClusterSettings]:
    configured = ClusterSettings()
    if configured.is_external:
        yield configured
        return
    with tempfile.TemporaryDirectory() as scratch, private_stack(Path(scratch)) as stack:
        yield ClusterSettings(
            kafka_bootstrap_servers=stack.settings.bootstrap_servers,
            schema_registry_url=stack.settings.registry_url,
        )


def publish(settings: ClusterSettings, topic: str, count: int, keys: int) -> None:
    admin = clients.admin(settings)
    admin.create_topics([NewTopic(topic, num_partitions=12)])[topic].result(30)
    producer = clients.producer(settings, {"linger.ms": 20})
    with clients.registry(settings) as client:
        codec = JobCodec(client, demo_catalog())
        for n in range(count):
            user = uuid.UUID(int=n % keys + 1)
            job = SendEmail(user_id=user, to="a@example.com", template="t", params={"n": str(n)})
            while True:
                try:
                    producer.produce(topic, codec.encode(job, topic), str(user).encode())
                    break
                except BufferError:
                    producer.poll(0.1)
    producer.flush(60)


@contextmanager
def reader_from_start(settings: ClusterSettings, topic: str, purpose: str) -> Iterator[Consumer]:
    """A consumer of `topic` from its first record, in a group of its own that never commits.

    Closed on the way out, and its group deleted, so that benches leave no groups behind.
    """
    group = f"{purpose}-{uuid.uuid4()}"
    consumer = clients.consumer(
        settings, group, {"auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.subscribe([topic])
    try:
        yield consumer
    finally:
        consumer.close()
        delete_groups(settings, [group])


def baseline(settings: ClusterSettings, topic: str, count: int) -> float:
    """Jobs/s of a plain loop: consume, fastavro decode, pydantic validate."""
    parsed = demo_catalog().of(SendEmail).parsed
    seen = 0
    started = 0.0
    with reader_from_start(settings, topic, "baseline") as consumer:
        while seen < count:
            for message in consumer.consume(500, 0.5):
                if message.error() is None:
                    started = started or time.perf_counter()
                    body = BytesIO(message.value() or b"")
                    body.seek(5)
                    SendEmail.model_validate(schemaless_reader(body, parsed, None))
                    seen += 1
        return count / (time.perf_counter() - started)  # before the reader closes


async def keel_rate(
    settings: ClusterSettings,
    topic: str,
    count: int,
    latency: float,
    in_flight: int,
    **overrides: object,
) -> float:
    """Jobs/s of a keel worker whose handler sleeps `latency` seconds (0: returns at once).

    `overrides` are further `WorkerSettings` fields (e.g. `beats=BeatSettings(...)`)."""
    app = App(f"bench-{uuid.uuid4()}")
    seen = 0
    first = 0.0
    done = asyncio.Event()

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        nonlocal seen, first
        first = first or time.perf_counter()
        if latency:
            await asyncio.sleep(latency)
        seen += 1
        if seen == count:
            done.set()

    worker_settings = WorkerSettings(
        cluster=settings,
        topics=(topic,),
        max_in_flight=in_flight,
        buffer_high=BUFFER_HIGH,
        health_port=None,
        **overrides,  # type: ignore[arg-type]
    )
    stop = asyncio.Event()
    with clients.registry(settings) as client:
        worker = Worker(app, worker_settings, JobCodec(client, demo_catalog()))
        task = asyncio.create_task(worker.run(stop))
        await done.wait()
        rate = count / (time.perf_counter() - first)
        stop.set()
        await task
    delete_groups(settings, [app.group_id])  # its quarantine topic and offsets
    return rate


BUFFER_HIGH: int | None = None


def main() -> None:
    global BUFFER_HIGH  # noqa: PLW0603 - a quick script's knob
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buffer-high", type=int, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--slow-jobs", type=int, default=30_000)
    args = parser.parse_args()
    BUFFER_HIGH = args.buffer_high
    with cluster() as settings:
        fast, slow = f"bench-{uuid.uuid4().hex[:8]}", f"bench-slow-{uuid.uuid4().hex[:8]}"
        try:
            plain, noop, sleepy = _measure(settings, fast, slow, args)
        finally:
            made = [fast, slow, dead_letter_topic(fast), dead_letter_topic(slow)]
            delete_topics(settings, made)
    print(f"baseline (consume + fastavro + pydantic): {plain:,.0f} jobs/s")
    print(f"keel, no-op async handler:                {noop:,.0f} jobs/s ({noop / plain:.2f}x)")
    print(
        f"keel, 50 ms handlers, max_in_flight 500:  {sleepy:,.0f} jobs/s "
        f"({sleepy / (500 / 0.05):.2f} of 10,000/s)"
    )


def _measure(
    settings: ClusterSettings, fast: str, slow: str, args: argparse.Namespace
) -> tuple[float, float, float]:
    """The baseline's rate, keel's with no-op handlers, and keel's with 50 ms ones."""
    publish(settings, fast, args.jobs, 500)
    publish(settings, slow, args.slow_jobs, 1000)
    plain = baseline(settings, fast, args.jobs)
    if args.profile:
        import cProfile  # noqa: PLC0415
        import pstats  # noqa: PLC0415

        with cProfile.Profile() as profile:
            noop = asyncio.run(keel_rate(settings, fast, args.jobs, 0.0, 500))
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    else:
        noop = asyncio.run(keel_rate(settings, fast, args.jobs, 0.0, 500))
    sleepy = asyncio.run(keel_rate(settings, slow, args.slow_jobs, 0.05, 500))
    return plain, noop, sleepy


if __name__ == "__main__":
    main()
