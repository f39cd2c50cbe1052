"""The engine decodes a whole batch on arrival; a record the registry cannot place yet waits."""

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import BaseModel

from keel.consumers import App, Context
from keel.consumers.engine_factory import build_engine
from keel.consumers.pipeline.engine import Engine, EngineConfig
from keel.consumers.pipeline.records import Header
from keel.schemas.errors import RegistryUnavailableError
from tests.support.waiting import until

TOPIC = "jobs"


class Step(BaseModel):
    key: str
    n: int


@dataclass
class Record:
    offset_: int
    key_: bytes
    value_: bytes

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes:
        return self.key_

    def value(self) -> bytes:
        return self.value_

    def headers(self) -> list[Header]:
        return []

    def timestamp(self) -> tuple[int, int]:
        return (0, 0)

    def error(self) -> None:
        return None


class FlakyRegistryDecode:
    """Decodes `key:n` values; the registry cannot place `unplaceable` for its first `misses`."""

    def __init__(self, unplaceable: bytes, misses: int) -> None:
        self.calls: list[bytes] = []
        self._unplaceable = unplaceable
        self._misses = misses

    def decode(self, value: bytes | None) -> BaseModel:
        assert value is not None
        self.calls.append(value)
        if value == self._unplaceable and self._misses:
            self._misses -= 1
            raise RegistryUnavailableError("registry not answering")
        name, n = value.decode().split(":")
        return Step(key=name, n=int(n))


class NoSink:
    def publish(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("nothing here is dead-lettered")


def engine_for(app: App, decode: FlakyRegistryDecode, pool: ThreadPoolExecutor) -> Engine:
    engine = build_engine(
        app,
        decoder=decode,
        sink=NoSink(),
        pool=pool,
        config=EngineConfig(max_running=10, high_water=100, low_water=50),
        rng=random.Random(0),
    )
    engine.assign((TOPIC, 0), 0, None)
    return engine


async def test_a_batch_is_decoded_before_any_of_its_jobs_run() -> None:
    app = App("test")
    decode = FlakyRegistryDecode(b"", 0)
    decoded_when_run: list[int] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        decoded_when_run.append(len(decode.calls))

    with ThreadPoolExecutor(1) as pool:
        engine = engine_for(app, decode, pool)
        engine.accept([Record(n, b"a", f"a:{n}".encode()) for n in range(3)])
        await until(lambda: len(decoded_when_run) == 3, 5, "the three jobs")

    assert decoded_when_run == [3, 3, 3]
    assert engine.positions()[(TOPIC, 0)].offset == 3


async def test_a_record_the_registry_cannot_place_yet_runs_later_and_in_its_keys_order() -> None:
    # Given a key whose second record the registry cannot place at first, and another key
    app = App("test")
    decode = FlakyRegistryDecode(b"a:1", misses=1)
    seen: list[str] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        seen.append(f"{job.key}:{job.n}")

    with ThreadPoolExecutor(1) as pool:
        engine = engine_for(app, decode, pool)
        records = [Record(0, b"a", b"a:0"), Record(1, b"a", b"a:1"), Record(2, b"a", b"a:2")]
        engine.accept([*records, Record(3, b"b", b"b:0")])

        # When the batch is taken, everything but the unplaceable record and its key runs
        await until(lambda: len(seen) == 2, 5, "the placeable jobs")
        assert seen == ["a:0", "b:0"]
        assert engine.positions()[(TOPIC, 0)].offset == 1

        # Then it is decoded again later, and its key's records follow in offset order
        await until(lambda: len(seen) == 4, 10, "the rest of key a")

    assert seen == ["a:0", "b:0", "a:1", "a:2"]
    assert decode.calls.count(b"a:1") == 2  # once on arrival, once when its timer fired
    assert engine.positions()[(TOPIC, 0)].offset == 4
