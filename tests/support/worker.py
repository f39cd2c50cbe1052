"""Running a worker against the session's cluster, producing jobs to it, reading what it did."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.consumers import App, WorkerSettings
from keel.consumers.runner import Worker
from keel.schemas.codec import JobCodec
from keel.schemas.demo import demo_catalog
from keel.schemas.headers import JobHeaders, new_job_id
from keel.schemas.job import Job
from keel.schemas.tracing import TracerProvider
from tests.support.cluster import Cluster


def worker_settings(cluster: Cluster, topics: Sequence[str], **overrides: object) -> WorkerSettings:
    values: dict[str, object] = {
        "cluster": cluster.settings(),
        "topics": tuple(topics),
        "health_port": 0,
        "commit_interval": 0.2,
        "session_timeout_ms": 6000,
        "drain_timeout": 10.0,
        "shutdown_timeout": 10.0,
    }
    values.update(overrides)
    return WorkerSettings(**values)  # type: ignore[arg-type]


async def wait_for(
    condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Wait, without blocking the loop, until `condition()` holds; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(
    app: App,
    settings: WorkerSettings,
    tracer_provider: TracerProvider | None = None,
    *,
    assigned: bool = True,
) -> AsyncIterator[Worker]:
    """A worker of `app` on this loop, ready (partitions assigned); stopped on exit.

    With `assigned=False` it is handed over as soon as it has started: a worker that joins a
    group beside another may get no partition until that one leaves.
    """
    stop = asyncio.Event()
    with SchemaRegistryClient({"url": settings.cluster.schema_registry_url}) as client:
        codec = JobCodec(client, demo_catalog())
        worker = Worker(app, settings, codec, tracer_provider)
        task = asyncio.create_task(worker.run(stop))
        try:
            await wait_for(
                lambda: worker.ready().ok or task.done() or not assigned, what="an assignment"
            )
            if task.done():
                task.result()
            yield worker
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


class JobProducer:
    """Publishes demo jobs (Confluent-framed Avro, keel headers) to one topic."""

    def __init__(self, cluster: Cluster, topic: str, transactional_id: str | None = None) -> None:
        """With a `transactional_id`, `send_in_transaction` writes jobs as one transaction."""
        self.topic = topic
        self._client = SchemaRegistryClient({"url": cluster.registry_url})
        self._codec = JobCodec(self._client, demo_catalog())
        config: dict[str, str | int | bool] = {
            "bootstrap.servers": cluster.bootstrap_servers,
            "linger.ms": 5,
            "acks": "all",
            "enable.idempotence": True,  # a retried send never duplicates or reorders
            "message.max.bytes": 2_000_000,
        }
        if transactional_id is not None:
            config["transactional.id"] = transactional_id
        self._producer = Producer(config)
        if transactional_id is not None:
            self._producer.init_transactions(30)

    def send(self, job: Job, key: bytes | None) -> None:
        self.send_raw(self._codec.encode(job, self.topic), key, job.get_fullname())

    def send_raw(self, value: bytes | None, key: bytes | None, job_type: str = "") -> None:
        job_headers = JobHeaders(new_job_id(), job_type, int(time.time() * 1000))
        headers: list[tuple[str, str | bytes | None]] = list(job_headers.encode())
        while True:
            try:
                self._producer.produce(self.topic, value, key, headers=headers)
            except BufferError:
                self._producer.poll(0.05)
            else:
                return

    def send_all(self, jobs: Iterable[tuple[Job, bytes | None]]) -> int:
        count = 0
        for job, key in jobs:
            self.send(job, key)
            count += 1
        self.flush()
        return count

    def send_in_transaction(self, jobs: Iterable[tuple[Job, bytes | None]]) -> int:
        """Write `jobs` in one committed transaction (its marker takes an offset of its own)."""
        self._producer.begin_transaction()
        count = 0
        for job, key in jobs:
            self.send(job, key)
            count += 1
        self._producer.commit_transaction(30)
        return count

    def flush(self) -> None:
        assert self._producer.flush(30) == 0

    def close(self) -> None:
        self.flush()
        self._client.close()


@dataclass(frozen=True)
class Read:
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    partition: int
    offset: int


def read_all(cluster: Cluster, topic: str, expected: int, timeout: float = 30.0) -> list[Read]:
    """Read every partition of `topic` from the start until `expected` records arrived."""
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": "reader",  # assigned, never joins a group
            "enable.auto.commit": False,
        }
    )
    found: list[Read] = []
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        while len(found) < expected and time.monotonic() < deadline:
            for message in consumer.consume(500, 0.2):
                if message.error() is None:
                    found.append(_read(message))
    finally:
        consumer.close()
    return found


def _read(message: Any) -> Read:
    headers = {
        name: (value or b"").decode("utf-8", "replace") for name, value in message.headers() or ()
    }
    return Read(message.key(), message.value(), headers, message.partition(), message.offset())


def committed(cluster: Cluster, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The group's committed offset per partition (-1001 when none)."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 30)
        return {tp.partition: tp.offset for tp in found}
    finally:
        consumer.close()


def end_offsets(cluster: Cluster, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": "peek"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1]
            for p in range(partitions)
        }
    finally:
        consumer.close()
