"""Run an `App` in memory, for users' handler tests: no Kafka, milliseconds per test.

    worker = InMemoryWorker(app)
    worker.send(SendEmail(...), key=b"user-1")
    await worker.run_until_idle()
    assert worker.dead_letters == []

The real engine runs underneath, built by the worker's own factory (keys, order, retries, dead
letters and committed offsets behave as in production), and so does the real decode path: a
job is encoded with the App's catalog into framed Avro, as a publisher writes it, with the job
headers a publisher adds, and the worker decodes it with the same `JobCodec`. Only the broker
and the schema registry are in memory (confluent-kafka's `mock://` registry client). A job type
missing from the App's catalog is refused by `send`, as a publisher would refuse it. Backoff
delays are zero unless `instant_retries=False`; a handler's own `Retry(after=...)` is honoured.
Circuits work as in the worker: when many jobs of a type fail at once, the type is held until a
probe succeeds (`circuit=CircuitPolicy(enabled=False)` makes such a test dead-letter them all).
A job sent with `expires=` expires as in the worker, against `clock` (give one to move time on).
"""

import asyncio
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.consumers.app import App
from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.dead_letters.headers import header_map
from keel.consumers.dead_letters.sink import Acknowledged
from keel.consumers.engine_factory import build_engine
from keel.consumers.pipeline.engine import Engine, EngineConfig
from keel.consumers.pipeline.holds import CircuitReading
from keel.consumers.pipeline.observer import NoObserver, Observer
from keel.consumers.pipeline.quarantine import NoHolds
from keel.consumers.pipeline.records import Header
from keel.producers.expiry import Expires, expires_at_ms
from keel.schemas.codec import JobCodec
from keel.schemas.headers import EXPIRES_AT, JobHeaders, new_job_id
from keel.schemas.job import Job
from keel.schemas.topics import quarantine_topic

__all__ = ["DeadLetterRecord", "InMemoryWorker"]

# confluent-kafka answers a `mock://` URL with its in-memory registry client, one per instance.
_REGISTRY = {"url": "mock://keel-testing"}
QUARANTINE_PREFIX = quarantine_topic("")


@dataclass(frozen=True)
class DeadLetterRecord:
    """A record the worker set aside, as the dead-letter topic would hold it."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


@dataclass
class _Record:
    _topic: str
    _partition: int
    _offset: int
    _key: bytes | None
    _value: bytes | None
    _headers: list[Header] = field(default_factory=list)
    _timestamp: int = field(default_factory=lambda: int(time.time() * 1000))

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[Header]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp)

    def error(self) -> None:
        return None


class _Sink:
    def __init__(self, worker: "InMemoryWorker") -> None:
        self._worker = worker

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
        done: Acknowledged,
    ) -> None:
        loop = asyncio.get_running_loop()
        if self._worker.dead_letter_error is not None:
            loop.call_soon(done, self._worker.dead_letter_error)
            return
        written = DeadLetterRecord(topic, key, value, header_map(headers))
        if topic.startswith(QUARANTINE_PREFIX):
            self._worker.quarantine_state.append(written)
        else:
            self._worker.dead_letters.append(written)
        loop.call_soon(done, None)


class _NoJitter:
    def random(self) -> float:
        return 0.0


class InMemoryWorker:
    """An app's handlers run by the real engine against in-memory partitions."""

    def __init__(
        self,
        app: App,
        *,
        topic: str = "jobs",
        partitions: int = 1,
        max_running: int = 100,
        max_overtakes: int | None = None,
        instant_retries: bool = True,
        observer: Observer | None = None,
        quarantine: bool = False,
        circuit: CircuitPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`observer` sees every attempt, as the worker's metrics and tracing do.

        `quarantine`: hold a key behind its dead letter as the worker does; the holds it saves
        are in `quarantine_state` (records of the state topic), the parked jobs in
        `dead_letters`. `circuit`: of every job type without its own, as `KEEL_WORKER_CIRCUIT`
        sets it for the worker (default: on, with `CircuitPolicy()`'s values). `clock`: the
        epoch seconds that expiries are read against.
        """
        self.app = app
        self._observer = observer or NoObserver()
        self.topic = topic
        self.partitions = partitions
        self.dead_letters: list[DeadLetterRecord] = []
        self.dead_letter_error: str | None = None  # set to make dead-letter writes fail
        self.quarantine_state: list[DeadLetterRecord] = []
        self._quarantine = quarantine
        self._codec = JobCodec(SchemaRegistryClient.new_client(_REGISTRY), app.catalog)
        self._max_running = max_running
        self._max_overtakes = 2 * max_running if max_overtakes is None else max_overtakes
        self._instant = instant_retries
        self._circuit = circuit or CircuitPolicy()
        self._clock = clock
        self._next_offset = [0] * partitions
        self._pending: list[_Record] = []
        self._engine: Engine | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keel-test")

    def send(
        self,
        job: Job,
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
        expires: Expires | None = None,
    ) -> tuple[int, int]:
        """Queue a job as a publisher would (framed Avro, job headers); returns (partition, offset).

        `headers` are added after the job headers, as a publisher's extra headers are.
        `expires`: as `Publisher.publish` takes it, read against the worker's `clock`.
        """
        if expires is not None:
            now_ms = int(self._clock() * 1000)
            at = expires_at_ms(expires, now_ms=now_ms)
            headers = {**(headers or {}), EXPIRES_AT: str(at)}
        value = self._codec.encode(job, self.topic)
        job_type = self.app.catalog.of(type(job)).name
        made = JobHeaders(new_job_id(), job_type, int(time.time() * 1000))
        sent = cast(list[Header], made.encode())  # every value is bytes
        extra = [(name, text.encode()) for name, text in (headers or {}).items()]
        return self._append(key, value, [*sent, *extra])

    def send_raw(
        self,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, int]:
        """Queue bytes as they are: the worker's decoder decides what they are (often poison)."""
        extra = [(name, text.encode()) for name, text in (headers or {}).items()]
        return self._append(key, value, extra)

    def _append(
        self, key: bytes | None, value: bytes | None, headers: list[Header]
    ) -> tuple[int, int]:
        partition = zlib.crc32(key) % self.partitions if key is not None else 0
        offset = self._next_offset[partition]
        self._next_offset[partition] += 1
        self._pending.append(_Record(self.topic, partition, offset, key, value, headers))
        return partition, offset

    async def run_until_idle(self, timeout: float = 5.0) -> None:
        """Deliver everything sent so far and wait until every record has finished."""
        engine = self._ensure_engine()
        deadline = time.monotonic() + timeout
        while self._pending or engine.buffered:
            paused = {partition for _topic, partition in engine.paused}
            batch = [record for record in self._pending if record.partition() not in paused]
            if batch:
                self._pending = [r for r in self._pending if r.partition() in paused]
                engine.accept(batch)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{engine.buffered} records still buffered")
            await asyncio.sleep(0.001)

    @property
    def committed(self) -> dict[int, int]:
        """The offset the worker would commit now, by partition."""
        positions = self._ensure_engine().positions()
        return {partition: p.offset for (_topic, partition), p in positions.items()}

    @property
    def circuits(self) -> dict[str, CircuitReading]:
        """Each job type's circuit (state, held jobs, transitions), by job type name."""
        return self._ensure_engine().circuits()

    async def close(self) -> None:
        """Let running jobs finish and release the thread pool."""
        if self._engine is not None:
            await self._engine.stop(timeout=5.0)
        self._pool.shutdown(wait=True)

    def _ensure_engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._build()
        return self._engine

    def _build(self) -> Engine:
        engine = build_engine(
            self.app,
            decoder=self._codec,
            sink=_Sink(self),
            pool=self._pool,
            config=EngineConfig(
                max_running=self._max_running,
                high_water=2 * self._max_running,
                low_water=self._max_running,
                max_overtakes=self._max_overtakes,
                circuit=self._circuit,
                on_expired=self.app.settings.on_expired,
                clock=self._clock,
            ),
            observer=self._observer,
            rng=_NoJitter() if self._instant else None,
            holds=NoHolds() if self._quarantine else None,
        )
        for partition in range(self.partitions):
            engine.assign((self.topic, partition), 0, None)
        return engine

    def _flow(self) -> None:
        pass  # `run_until_idle` reads the engine's paused partitions before each delivery

    @property
    def paused(self) -> bool:
        """True while flow control holds back any partition."""
        return bool(self.paused_partitions)

    @property
    def paused_partitions(self) -> frozenset[int]:
        """The partitions flow control has paused: their records are not delivered meanwhile."""
        engine = self._engine
        return frozenset() if engine is None else frozenset(p for _t, p in engine.paused)
