"""The baseline keel is measured against: the loop a team would write by hand.

Batched `consume()`, the Confluent frame stripped and the Avro body read with fastavro, the
dict validated into the pydantic model, the handler awaited inline, each partition's records
one after another (partitions of one batch side by side), then a synchronous commit of what
was consumed. It keeps no per-key lanes, no retries, no dead letters: it is the ceiling for
decode + validate and the floor for concurrency that keel must beat.
"""

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka import Consumer, Message
from fastavro.types import Schema
from pydantic import BaseModel

_FRAME = 5  # magic byte + 4-byte schema id
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


def run_baseline(consumer_config: Mapping[str, Any], spec: BaselineSpec) -> BaselineResult:
    """Consume `spec.expected` records from the start; fails if they do not all arrive."""
    return asyncio.run(_run(consumer_config, spec))


async def _run(config: Mapping[str, Any], spec: BaselineSpec) -> BaselineResult:
    parsed = fastavro.parse_schema(dict(spec.schema))
    consumer = Consumer({**config, "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.subscribe([spec.topic])
    done, started = 0, 0.0
    deadline = time.monotonic() + spec.timeout_s
    try:
        while done < spec.expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"baseline saw {done} of {spec.expected} records")
            batch = [m for m in consumer.consume(500, 0.5) if m.error() is None]
            if not batch:
                continue
            started = started or time.perf_counter()
            await asyncio.gather(*(_partition(r, parsed, spec) for r in _split(batch)))
            consumer.commit(asynchronous=False)
            done += len(batch)
    finally:
        consumer.close()
    return BaselineResult(done, time.perf_counter() - started)


def _split(batch: list[Message]) -> list[list[Message]]:
    by_partition: dict[int | None, list[Message]] = {}
    for message in batch:
        by_partition.setdefault(message.partition(), []).append(message)
    return list(by_partition.values())


async def _partition(records: list[Message], parsed: Schema, spec: BaselineSpec) -> None:
    for message in records:
        body = io.BytesIO(message.value() or b"")
        body.seek(_FRAME)
        job = spec.model.model_validate(fastavro.schemaless_reader(body, parsed, None))
        await spec.handler(job)
