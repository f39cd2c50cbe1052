"""A new owner carries on the attempts a previous one began: the engine, with a fake commit."""

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.consumers import App, Context, Retry, RetryPolicy
from keel.consumers.engine_factory import build_engine
from keel.consumers.pipeline.engine import Engine, EngineConfig
from keel.consumers.pipeline.metadata import InFlight, decode_metadata, encode_metadata
from keel.consumers.pipeline.partition import Position
from keel.consumers.pipeline.records import Header, TopicPartition
from keel.schemas.codec import JobCodec
from keel.schemas.job import Job
from tests.support.jobs import catalog_of
from tests.support.waiting import until


class Step(Job):
    key: str
    n: int


CATALOG = catalog_of(Step)
TOPIC = "jobs"
TP = (TOPIC, 0)


@dataclass
class Record:
    """A consumed record, shaped as `confluent_kafka.Message`."""

    _offset: int
    _key: bytes
    _value: bytes

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list[Header]:
        return []

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)

    def error(self) -> None:
        return None


@dataclass
class Harness:
    """An engine over one partition; dead letters and commits land in lists."""

    app: App
    engine: Engine | None = None
    commits: list[dict[TopicPartition, Position]] = field(default_factory=list)
    letters: list[dict[str, str]] = field(default_factory=list)
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2))

    def __post_init__(self) -> None:
        self.codec = JobCodec(SchemaRegistryClient.new_client({"url": "mock://durable"}), CATALOG)

    def start(self, committed: int, metadata: str | None, careful_below: int | None) -> Engine:
        self.engine = build_engine(
            self.app,
            decoder=self.codec,
            sink=self,
            pool=self.pool,
            config=EngineConfig(max_running=10, high_water=100, low_water=50),
            catalog=CATALOG,
            commit_now=self.commit,
        )
        self.engine.assign(TP, committed, metadata, careful_below)
        return self.engine

    async def commit(self, positions: Mapping[TopicPartition, Position]) -> None:
        await asyncio.sleep(0.01)  # a round trip: starts that come meanwhile share the next
        self.commits.append(dict(positions))

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
        done: object,
    ) -> None:
        self.letters.append({name: raw.decode() for name, raw in headers})
        asyncio.get_running_loop().call_soon(done, None)  # type: ignore[arg-type]

    def records(self, first: int, steps: list[tuple[str, int]]) -> list[Record]:
        return [
            Record(first + i, key.encode(), self.codec.encode(Step(key=key, n=n), TOPIC))
            for i, (key, n) in enumerate(steps)
        ]

    def committed_in_flight(self) -> list[dict[int, InFlight]]:
        return [decode_metadata(p[TP].offset, p[TP].metadata).in_flight for p in self.commits]


async def soon(condition: Callable[[], bool]) -> None:
    await until(condition, 5.0, "the engine")


def due_of(engine: Engine, offset: int) -> int:
    """When the retry of `offset` is due, by the metadata the engine would commit now (0: none)."""
    entry = decode_metadata(offset, engine.positions()[TP].metadata).in_flight.get(offset)
    return 0 if entry is None else entry.due_ms


def now_ms() -> int:
    return int(time.time() * 1000)


def recording_app(seen: list[tuple[int, int]], max_attempts: int = 5) -> App:
    app = App("durable", catalog=CATALOG, retry=RetryPolicy(max_attempts=max_attempts))

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        seen.append((job.n, ctx.attempt))

    return app


async def test_a_job_cut_short_twice_runs_as_attempt_three_on_its_next_owner() -> None:
    seen: list[tuple[int, int]] = []
    harness = Harness(recording_app(seen))
    metadata = encode_metadata(10, [], {10: InFlight(2)}, sealed=True, now_ms=now_ms())
    engine = harness.start(10, metadata, None)
    engine.accept(harness.records(10, [("a", 0), ("a", 1)]))
    await soon(lambda: len(seen) == 2)
    assert seen == [(0, 3), (1, 1)]
    assert engine.positions()[TP].offset == 12


async def test_a_job_whose_runs_all_killed_its_worker_is_dead_lettered_and_its_key_goes_on() -> (
    None
):
    # Given a job that began all 3 of its attempts on owners that died in them
    seen: list[tuple[int, int]] = []
    harness = Harness(recording_app(seen, max_attempts=3))
    metadata = encode_metadata(0, [], {0: InFlight(3)}, sealed=False, now_ms=now_ms())
    engine = harness.start(0, metadata, 2)
    # When it arrives with the next job of its key
    engine.accept(harness.records(0, [("a", 0), ("a", 1)]))
    await soon(lambda: len(seen) == 1 and engine.positions()[TP].offset == 2)
    # Then it does not run again: it is dead-lettered as a crash loop, and the next job runs
    assert seen == [(1, 1)]
    [letter] = harness.letters
    assert letter["keel-dlt-reason"] == "crash-loop"
    assert letter["keel-dlt-attempts"] == "3"
    assert letter["keel-dlt-error-class"].endswith("WorkerLost")
    assert "3 attempt(s)" in letter["keel-dlt-error-message"]


async def test_an_inherited_retry_waits_out_only_what_is_left_of_its_backoff() -> None:
    seen: list[tuple[int, int]] = []
    started: list[float] = []
    app = App("durable", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        started.append(time.monotonic())
        seen.append((job.n, ctx.attempt))

    harness = Harness(app)
    due = {0: InFlight(1, due_ms=now_ms() + 400), 1: InFlight(2, due_ms=now_ms() - 1000)}
    metadata = encode_metadata(0, [], due, sealed=True, now_ms=now_ms())
    engine = harness.start(0, metadata, None)
    began = time.monotonic()
    engine.accept(harness.records(0, [("a", 0), ("b", 1)]))
    await soon(lambda: len(seen) == 2)
    # The one already due runs at once; the other after the rest of its delay, not before
    assert seen == [(1, 3), (0, 2)]
    assert started[0] - began < 0.2
    assert 0.3 <= started[1] - began < 2.0


async def test_after_an_unclean_handover_each_inherited_start_is_committed_before_it_runs() -> None:
    # Given a partition whose previous owner did not seal its metadata, ending at offset 3
    harness = Harness(App("durable", catalog=CATALOG))
    in_flight_at_start: list[dict[int, InFlight]] = []

    @harness.app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        in_flight_at_start.append(harness.committed_in_flight()[-1])

    metadata = encode_metadata(0, [], {}, sealed=False, now_ms=now_ms())
    engine = harness.start(0, metadata, 3)
    # When jobs of one key run, below the end and past it
    engine.accept(harness.records(0, [("a", 0), ("a", 1), ("a", 2), ("a", 3), ("a", 4)]))
    await soon(lambda: engine.positions()[TP].offset == 5)
    # Then each inherited job's start was committed first, counting its attempt; past the end
    # the partition runs without a commit per start
    assert in_flight_at_start[:3] == [{0: InFlight(1)}, {1: InFlight(1)}, {2: InFlight(1)}]
    assert len(harness.commits) == 3


async def test_a_clean_handover_costs_one_claim_commit_before_the_first_start() -> None:
    seen: list[tuple[int, int]] = []
    harness = Harness(recording_app(seen))
    engine = harness.start(0, encode_metadata(0, [], {}, sealed=True, now_ms=0), 100)
    engine.accept(harness.records(0, [(f"k{n}", n) for n in range(20)]))
    await soon(lambda: len(seen) == 20)
    [claim] = harness.commits
    assert decode_metadata(0, claim[TP].metadata).sealed is False


async def test_a_retry_waiting_at_revoke_is_handed_over_sealed_with_its_due_time() -> None:
    # Given a job that failed once and waits 30 s for its retry
    harness = Harness(App("durable", catalog=CATALOG))

    @harness.app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        raise Retry(after=30)

    engine = harness.start(5, None, None)
    engine.accept(harness.records(5, [("a", 0)]))
    await soon(lambda: due_of(engine, 5) > 0)
    before = now_ms()
    # When the partition is revoked
    positions = await engine.revoke([TP], timeout=1)
    # Then its handover is sealed and names the attempt begun and when the retry is due
    handed = decode_metadata(5, positions[TP].metadata)
    assert positions[TP].offset == 5
    assert handed.sealed is True
    [(offset, entry)] = handed.in_flight.items()
    assert (offset, entry.begun) == (5, 1)
    assert before + 29_000 <= entry.due_ms <= before + 30_500


async def test_jobs_cut_short_by_a_crash_run_alone_so_a_next_death_is_charged_to_one() -> None:
    # Given two jobs whose last attempt was cut short (suspects) and two that never began
    harness = Harness(App("durable", catalog=CATALOG))
    running: set[int] = set()
    beside: dict[int, set[int]] = {}  # who ran while each job ran

    @harness.app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        running.add(job.n)
        for n in running:
            beside.setdefault(n, set()).update(running - {n})
        await asyncio.sleep(0.02)
        running.discard(job.n)

    suspects = {1: InFlight(1), 2: InFlight(2)}
    metadata = encode_metadata(0, [], suspects, sealed=False, now_ms=now_ms())
    engine = harness.start(0, metadata, 4)
    # When they arrive on different keys, free to run side by side
    engine.accept(harness.records(0, [("a", 0), ("b", 1), ("c", 2), ("d", 3)]))
    await soon(lambda: engine.positions()[TP].offset == 4)
    # Then each suspect ran with nothing beside it
    assert sorted(beside) == [0, 1, 2, 3]
    assert beside[1] == set()
    assert beside[2] == set()
