"""The baseline keel is measured against: the loop a team would write by hand.

Batched `consume()` (on a thread, so handlers keep running meanwhile), the Confluent frame
stripped and the Avro body read with fastavro, the dict validated into the pydantic model, and
the handler awaited inline by one task per partition: each partition's records one after
another, all partitions side by side. After each batch it commits what it consumed. It keeps no
per-key lanes, no retries, no dead letters: it is the ceiling for decode + validate and the
floor for concurrency that keel must beat.
"""

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka import Message
from fastavro.types import Schema
from pydantic import BaseModel

from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_FRAME = 5  # magic byte + 4-byte schema id
# Consumed but not yet handled: stop fetching above it. Large, because librdkafka hands over a
# fetch partition by partition: reading far ahead is what puts every partition to work at once.
_MAX_BACKLOG = 200_000
Handler = Callable[[BaseModel], Awaitable[None]]


@dataclass(frozen=True)
class BaselineSpec:
    """What the loop consumes and how it handles each job."""

    topic: str
    schema: Mapping[str, Any]
    model: type[BaseModel]
    handler: Handler
    expected: int
    timeout_s: float = 300.0


@dataclass(frozen=True)
class BaselineResult:
    """How many jobs the loop ran, and in how long (first record to last commit)."""

    jobs: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else 0.0


def run_baseline(cluster: ClusterSettings, group: str, spec: BaselineSpec) -> BaselineResult:
    """Consume `spec.expected` records from the start; fails if they do not all arrive."""
    return asyncio.run(_run(cluster, group, spec))


async def _run(cluster: ClusterSettings, group: str, spec: BaselineSpec) -> BaselineResult:
    parsed = fastavro.parse_schema(dict(spec.schema))
    config = {"enable.auto.commit": False, "auto.offset.reset": "earliest"}
    consumer = clients.consumer(cluster, group, config)
    consumer.subscribe([spec.topic])
    loop = asyncio.get_running_loop()
    lanes: dict[int | None, asyncio.Queue[Message]] = {}
    tasks: list[asyncio.Task[None]] = []
    handled = [0]
    started = 0.0
    deadline = time.monotonic() + spec.timeout_s
    try:
        while handled[0] < spec.expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"baseline ran {handled[0]} of {spec.expected} records")
            if _backlog(lanes) > _MAX_BACKLOG:
                await asyncio.sleep(0.001)
                continue
            batch = await loop.run_in_executor(None, consumer.consume, 500, 0.1)
            batch = [m for m in batch if m.error() is None]
            if not batch:
                continue
            started = started or time.perf_counter()
            for message in batch:
                lane = lanes.get(message.partition())
                if lane is None:
                    lane = lanes[message.partition()] = asyncio.Queue()
                    tasks.append(asyncio.create_task(_partition(lane, parsed, spec, handled)))
                lane.put_nowait(message)
            consumer.commit(asynchronous=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        consumer.close()
    return BaselineResult(handled[0], time.perf_counter() - started)


def _backlog(lanes: Mapping[int | None, "asyncio.Queue[Message]"]) -> int:
    return sum(lane.qsize() for lane in lanes.values())


async def _partition(
    lane: "asyncio.Queue[Message]", parsed: Schema, spec: BaselineSpec, handled: list[int]
) -> None:
    while True:
        message = await lane.get()
        body = io.BytesIO(message.value() or b"")
        body.seek(_FRAME)
        job = spec.model.model_validate(fastavro.schemaless_reader(body, parsed, None))
        await spec.handler(job)
        handled[0] += 1
