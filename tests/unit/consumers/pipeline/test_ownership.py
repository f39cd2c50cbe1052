"""After a freeze of the loop: nothing of the partitions owned then starts or settles until a
commit confirms them, they are revoked (settled, then drained) or lost (disowned, cancelled).

The freeze is real: a handler blocks the loop (time.sleep) longer than `suspect_after`.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pydantic import BaseModel

from keel.consumers import App, Context, Fence
from keel.consumers.engine_factory import build_engine
from keel.consumers.pipeline.engine import Engine, EngineConfig
from keel.consumers.pipeline.ownership import FreezeWatch
from keel.consumers.pipeline.records import Header
from keel.schemas.job import Job
from tests.support.jobs import catalog_of
from tests.support.waiting import until

TOPIC = "jobs"
# suspect_after in these tests, long enough that a loaded test machine's loop does not stall
# that long by itself; a handler freezes the loop for 3 times that
FREEZE = 0.3


class Step(Job):
    key: str
    n: int
    freeze: bool = False
    hang: bool = False


CATALOG = catalog_of(Step)


@dataclass
class _Message:
    _partition: int
    _offset: int
    _job: Step
    _headers: list[Header] = field(default_factory=list)

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._job.key.encode()

    def value(self) -> bytes:
        return self._job.model_dump_json().encode()

    def headers(self) -> list[Header]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (0, int(time.time() * 1000))

    def error(self) -> None:
        return None


class _Decoder:
    def decode(self, value: bytes | None) -> BaseModel:
        return Step.model_validate_json(value or b"")


class _Sink:
    def publish(self, *args: object) -> None:
        raise AssertionError("nothing is dead-lettered here")


@dataclass
class Harness:
    engine: Engine
    started: list[str]
    ended: list[str]
    suspicions: list[int]

    def send(self, partition: int, offset: int, key: str, n: int, **flags: bool) -> None:
        self.engine.accept([_Message(partition, offset, Step(key=key, n=n, **flags))])

    def committed(self) -> dict[int, int]:
        return {p: position.offset for (_t, p), position in self.engine.positions().items()}


@asynccontextmanager
async def harness(partitions: int = 1) -> AsyncIterator[Harness]:
    started: list[str] = []
    ended: list[str] = []
    app = App("test", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        started.append(f"{job.key}{job.n}")
        try:
            if job.freeze:
                time.sleep(3 * FREEZE)
            if job.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(0)
        finally:
            ended.append(f"{job.key}{job.n}")

    with ThreadPoolExecutor(2) as pool:
        engine = build_engine(
            app,
            decoder=_Decoder(),
            sink=_Sink(),
            pool=pool,
            config=EngineConfig(10, high_water=100, low_water=10, suspect_after=FREEZE),
            catalog=CATALOG,
        )
        suspicions: list[int] = []
        engine.on_suspect = suspicions.append  # nobody confirms unless the test does
        for partition in range(partitions):
            engine.assign((TOPIC, partition), 0, None, generation=7)
        yield Harness(engine, started, ended, suspicions)
        await engine.stop(1.0)


async def test_after_a_freeze_nothing_starts_or_settles_until_a_commit_confirms_ownership() -> None:
    async with harness() as h:
        # Given a key whose first job freezes the loop past `suspect_after`
        h.send(0, 0, "a", 0, freeze=True)
        h.send(0, 1, "a", 1)
        # When the loop runs again, and another key's job arrives
        await until(lambda: h.suspicions == [1], 5, "the freeze to be seen")
        h.send(0, 2, "b", 2)
        await asyncio.sleep(FREEZE)
        # Then the frozen job's end is held (not committed), and nothing else starts
        assert h.started == ["a0"]
        assert h.committed() == {0: 0}
        assert h.engine.suspect == 1
        # When a commit has confirmed that the partition is still ours
        assert h.engine.confirm(1)
        # Then everything settles and runs as before
        await until(lambda: h.committed() == {0: 3}, 5, "the rest to run")
        assert h.started == ["a0", "a1", "b2"]
        assert h.engine.suspect == 0


async def test_a_partition_lost_after_a_freeze_disowns_what_was_held_and_cancels_what_runs() -> (
    None
):
    async with harness(partitions=2) as h:
        # Given a job that hangs on partition 1, then a job that freezes the loop on partition 0
        h.send(1, 0, "hung", 0, hang=True)
        await until(lambda: h.started == ["hung0"], 5, "the hanging job")
        h.send(0, 0, "a", 0, freeze=True)
        h.send(0, 1, "a", 1)
        await until(lambda: h.suspicions == [1], 5, "the freeze to be seen")
        # When both partitions turn out lost (the `lost` callback, before any confirmation)
        h.engine.lose([(TOPIC, 0), (TOPIC, 1)])
        # Then the held end is dropped, never committed; the running async job is cancelled
        await until(lambda: "hung0" in h.ended, 5, "the hanging job to be cancelled")
        assert h.engine.positions() == {}
        assert h.started == ["hung0", "a0"]
        assert h.engine.buffered == 0
        # And a late confirmation of that freeze changes nothing
        h.engine.confirm(1)
        await asyncio.sleep(FREEZE)
        assert h.started == ["hung0", "a0"]


async def test_a_revoke_after_a_freeze_settles_what_was_held_before_it_drains() -> None:
    async with harness() as h:
        h.send(0, 0, "a", 0, freeze=True)
        h.send(0, 1, "a", 1)
        await until(lambda: h.suspicions == [1], 5, "the freeze to be seen")
        # When the partition is revoked (the generation was still ours)
        positions = await asyncio.wait_for(h.engine.revoke([(TOPIC, 0)], 1.0), 2)
        # Then the held job counts as finished, and the one behind it is left to the next owner
        assert {p: pos.offset for (_t, p), pos in positions.items()} == {0: 1}
        assert h.started == ["a0"]


async def test_a_confirmation_counts_for_its_own_freeze_only() -> None:
    async with harness() as h:
        h.send(0, 0, "a", 0, freeze=True)
        await until(lambda: h.suspicions == [1], 5, "the first freeze")
        h.send(0, 1, "b", 1, freeze=True)  # held: starts once the first freeze is confirmed
        assert h.engine.confirm(1)
        await until(lambda: h.suspicions == [1, 2], 5, "the second freeze")
        assert not h.engine.confirm(1)
        assert h.engine.suspect == 1
        assert h.engine.confirm(2)
        await until(lambda: h.committed() == {0: 2}, 5, "both to settle")


async def test_each_run_carries_the_generation_its_partition_was_assigned_in_and_its_offset() -> (
    None
):
    fences: list[Fence] = []
    app = App("test", catalog=CATALOG)

    @app.handler(Step)
    def step(job: Step, ctx: Context) -> None:
        fences.append(ctx.fence)

    with ThreadPoolExecutor(1) as pool:
        engine = build_engine(app, decoder=_Decoder(), sink=_Sink(), pool=pool, catalog=CATALOG)
        engine.assign((TOPIC, 3), 40, None, generation=12)
        engine.accept([_Message(3, 41, Step(key="a", n=0)), _Message(3, 42, Step(key="a", n=1))])
        await until(lambda: len(fences) == 2, 5, "both jobs")
        await engine.stop(1.0)
    assert fences == [Fence(12, 41, TOPIC, 3), Fence(12, 42, TOPIC, 3)]


def test_fences_order_by_generation_then_offset_and_tokens_sort_the_same_way() -> None:
    zombie, replay, later = Fence(5, 900), Fence(6, 850), Fence(6, 851)
    assert zombie < replay < later
    assert sorted([later.token, zombie.token, replay.token]) == [
        zombie.token,
        replay.token,
        later.token,
    ]
    assert Fence(6, 850, "t", 1) == Fence(6, 850, "t", 2)  # the same key's partition: unused
    assert Context("j", "t", 1, None).fence == Fence(0, 0)


def test_the_watch_reports_each_gap_once_and_ticks_keep_an_idle_loop_unsuspected() -> None:
    now = [100.0]
    gaps: list[float] = []
    watch = FreezeWatch(2.0, gaps.append, clock=lambda: now[0])
    now[0] += 1.9
    assert not watch.froze()
    now[0] += 0.2  # 2.1 s since it was last seen running
    assert watch.froze()
    assert not watch.froze()  # the same gap, reported once
    assert len(gaps) == 1
    assert abs(gaps[0] - 2.1) < 1e-9
    assert not FreezeWatch(None, gaps.append, clock=lambda: now[0] + 1e9).froze()


async def test_a_ticking_watch_does_not_take_an_idle_loop_for_a_frozen_one() -> None:
    gaps: list[float] = []
    # Wide margins: a loaded host may hold the loop back for tens of milliseconds unfrozen.
    watch = FreezeWatch(0.5, gaps.append)
    watch.start(asyncio.get_running_loop())
    await asyncio.sleep(1.0)  # idle, but running: no gap
    assert not watch.froze()
    time.sleep(1.2)
    assert watch.froze()
    watch.stop()
    assert len(gaps) == 1


class Chore(Job):
    """A sync job: its attempts wait in the thread pool's queue when every thread is busy."""

    key: str
    n: int


async def test_a_sync_job_queued_for_a_thread_during_a_freeze_does_not_begin_until_confirmed() -> (
    None
):
    catalog = catalog_of(Step, Chore)
    began: list[str] = []
    app = App("test", catalog=catalog)

    @app.handler(Chore)
    def chore(job: Chore, ctx: Context) -> None:
        began.append(f"{job.key}{job.n}")
        if job.n == 0:
            time.sleep(2 * FREEZE)  # holds the only thread while the loop freezes

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        time.sleep(3 * FREEZE)  # the loop freezes

    def message(offset: int, job: Job) -> _Message:
        return _Message(0, offset, job)  # type: ignore[arg-type]

    class _AnyDecoder:
        def decode(self, value: bytes | None) -> BaseModel:
            text = value or b""
            return (Chore if b'"freeze"' not in text else Step).model_validate_json(text)

    with ThreadPoolExecutor(1) as pool:
        engine = build_engine(
            app,
            decoder=_AnyDecoder(),
            sink=_Sink(),
            pool=pool,
            config=EngineConfig(10, high_water=100, low_water=10, suspect_after=FREEZE),
            catalog=catalog,
        )
        suspicions: list[int] = []
        engine.on_suspect = suspicions.append
        engine.assign((TOPIC, 0), 0, None, generation=1)
        # Given a sync job holding the only thread, and one queued behind it for the thread
        engine.accept([message(0, Chore(key="a", n=0)), message(1, Chore(key="b", n=1))])
        await until(lambda: began == ["a0"], 5, "the first chore")
        # When the loop freezes while the first one's thread frees up
        engine.accept([message(2, Step(key="c", n=2, freeze=True))])
        await until(lambda: suspicions == [1], 5, "the freeze to be seen")
        await asyncio.sleep(FREEZE)
        # Then the queued one did not begin in the freed thread, and waits for the confirmation
        assert began == ["a0"]
        assert engine.confirm(1)
        await until(lambda: began == ["a0", "b1"], 5, "the queued chore after the confirmation")
        await until(lambda: engine.positions()[TOPIC, 0].offset == 3, 5, "all to settle")
        await engine.stop(1.0)
