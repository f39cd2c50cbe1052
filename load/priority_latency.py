"""How soon a high-priority job starts while a low-priority backlog waits: `keel bench priority`.

`keel bench priority --backlog 50000 --probes 200` creates a job topic with a `low` lane (where
its jobs go by default) and a `high` one, and runs one worker on both (strict lanes, the default)
in this process, with a handler that takes `--handler-ms`. It measures two rounds of probes,
single high-priority jobs published one at a time with `publish(..., priority="high")`:

1. baseline: the worker is idle (no backlog): what a pickup costs at all (after 5 probes that
   are not measured: the first publishes open connections and register the schema);
2. backlog: `--backlog` low-lane jobs are published first and keep every handler slot busy.

A probe's pickup latency runs from the call to `publish` (so the broker's acknowledgement is
included) to the start of its handler, both read from one clock. Reported: p50, p90, p99 and max
of each round, the ratio of the p99s, and the fewest low jobs still waiting when a probe
started (a backlog that ran dry would make the second round a second baseline: it is stated).
"""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from keel.consumers import App, Context
from keel.consumers.runner import Worker
from keel.consumers.settings import WorkerSettings
from keel.load.bench import sample_values
from keel.load.publish_latency import quantiles
from keel.load.topics import delete_topics
from keel.producers.aio import AsyncPublisher
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.lanes import lane_topic
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic, quarantine_topic

_PROBE = "probe"  # the params key that marks a probe and carries its number
_WARM_UP = 5  # probes before the idle round, not measured
_WAIT_S = 60.0  # the longest a probe or the worker's start may take before the bench gives up


@dataclass(frozen=True)
class PriorityLatencyResult:
    """Pickup latency of high-priority probes, in milliseconds, idle and behind a backlog."""

    backlog: int
    probes: int
    handler_ms: float
    max_in_flight: int
    lane_reserve: int | None
    idle_ms: dict[str, float]
    backlog_ms: dict[str, float]
    # The same pickups counted from the publish's acknowledgement instead of its call (the
    # handler may start before the acknowledgement reaches the publisher: then it is negative).
    idle_after_ack_ms: dict[str, float]
    backlog_after_ack_ms: dict[str, float]
    p99_ratio: float  # backlog p99 / idle p99
    low_waiting_min: int  # the fewest low jobs published and not yet started at a probe's start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PriorityBench:
    """The knobs of one run."""

    backlog: int = 50_000
    probes: int = 200
    probe_interval_s: float = 0.05
    handler_ms: float = 20.0
    max_in_flight: int = 50
    partitions: int = 6
    lane_reserve: int | None = None  # the worker's KEEL_WORKER_LANE_RESERVE (None: its default)


class _Probes:
    """What the handler saw: low jobs started, and when each probe started."""

    def __init__(self) -> None:
        self.low_published = 0
        self.low_started = 0
        self.started: dict[int, float] = {}
        self.low_waiting: dict[int, int] = {}  # probe -> low jobs published, not started
        self.arrived = asyncio.Event()


def run_priority_latency(cluster: ClusterSettings, bench: PriorityBench) -> PriorityLatencyResult:
    """Both rounds against a fresh topic with `low` and `high` lanes."""
    base = f"bench.priority.{uuid.uuid4().hex[:8]}"
    low, high = lane_topic(base, "low"), lane_topic(base, "high")
    ensure_topics(clients.admin(cluster), {low: bench.partitions, high: bench.partitions})
    route = Route(topic=base, priority="low", lanes=("high",), priority_per_publish=True)
    routes = ProducerSettings(routes={SendEmail.get_fullname(): route})
    try:
        return asyncio.run(_measure(cluster, routes, bench, [high, low], base))
    finally:
        lanes = [high, low]
        delete_topics(cluster, [*lanes, *map(dead_letter_topic, lanes), quarantine_topic(base)])


async def _measure(
    cluster: ClusterSettings,
    routes: ProducerSettings,
    bench: PriorityBench,
    topics: list[str],
    group: str,
) -> PriorityLatencyResult:
    seen = _Probes()
    app = _app(group, seen, bench.handler_ms / 1000)
    settings = WorkerSettings(
        cluster=cluster,
        topics=tuple(topics),
        max_in_flight=bench.max_in_flight,
        lane_reserve=bench.lane_reserve,
        health_port=None,
        shutdown_timeout=5.0,
    )
    registry = clients.registry(cluster)
    stop = asyncio.Event()
    worker = Worker(app, settings, JobCodec(registry, demo_catalog()))
    serving = asyncio.create_task(worker.run(stop))
    try:
        await _until(lambda: worker.ready().ok or serving.done(), "the worker's assignment")
        async with AsyncPublisher(cluster, routes) as publisher:
            # The first publishes open connections and register the schema: not measured.
            await _probe_round(publisher, seen, bench, -_WARM_UP, _WARM_UP)
            idle = await _probe_round(publisher, seen, bench, 0)
            for fields in sample_values(bench.backlog):
                await publisher.publish_nowait(SendEmail(**fields), key=fields["user_id"])
                seen.low_published += 1
            await publisher.flush()
            behind = await _probe_round(publisher, seen, bench, bench.probes)
    finally:
        stop.set()
        await asyncio.wait_for(serving, _WAIT_S)
        registry.close()
    idle_q, behind_q = quantiles(idle[0]), quantiles(behind[0])
    return PriorityLatencyResult(
        backlog=bench.backlog,
        probes=bench.probes,
        handler_ms=bench.handler_ms,
        max_in_flight=bench.max_in_flight,
        lane_reserve=bench.lane_reserve,
        idle_ms=idle_q,
        backlog_ms=behind_q,
        idle_after_ack_ms=quantiles(idle[1]),
        backlog_after_ack_ms=quantiles(behind[1]),
        p99_ratio=behind_q["p99"] / idle_q["p99"],
        low_waiting_min=min(seen.low_waiting[n] for n in range(bench.probes, 2 * bench.probes)),
    )


def _app(group: str, seen: _Probes, handler_s: float) -> App:
    app = App(group, catalog=demo_catalog())

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        probe = job.params.get(_PROBE)
        if probe is None:
            seen.low_started += 1
        else:
            seen.started[int(probe)] = time.perf_counter()
            seen.low_waiting[int(probe)] = seen.low_published - seen.low_started
            seen.arrived.set()
        await asyncio.sleep(handler_s)

    return app


async def _probe_round(
    publisher: AsyncPublisher, seen: _Probes, bench: PriorityBench, first: int, count: int = 0
) -> tuple[list[float], list[float]]:
    """Publish `count` (default `bench.probes`) probes one at a time; each one's pickup in ms,
    from the call to publish and from its acknowledgement."""
    latencies, after_ack = [], []
    for number in range(first, first + (count or bench.probes)):
        job = SendEmail(
            user_id=uuid.uuid4(), to="probe@example.com", template="t", params={_PROBE: str(number)}
        )
        called = time.perf_counter()
        await publisher.publish(job, key=job.user_id, priority="high")
        acknowledged = time.perf_counter()
        # No await between the look and the clear: the handler cannot set it in between.
        while number not in seen.started:
            seen.arrived.clear()
            await asyncio.wait_for(seen.arrived.wait(), _WAIT_S)
        latencies.append((seen.started[number] - called) * 1000)
        after_ack.append((seen.started[number] - acknowledged) * 1000)
        await asyncio.sleep(bench.probe_interval_s)
    return latencies, after_ack


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {_WAIT_S:.0f} s")
        await asyncio.sleep(0.05)


def headline(result: PriorityLatencyResult) -> str:
    """One line of a run's figures."""
    idle = "  ".join(f"{name} {ms:.1f}" for name, ms in result.idle_ms.items())
    behind = "  ".join(f"{name} {ms:.1f}" for name, ms in result.backlog_ms.items())
    acked = "  ".join(f"{name} {ms:.1f}" for name, ms in result.backlog_after_ack_ms.items())
    reserve = "default" if result.lane_reserve is None else result.lane_reserve
    return (
        f"lane reserve {reserve}: pickup of a high-priority job, ms: behind {result.backlog:,} "
        f"low: {behind} (from the acknowledgement: {acked}); idle: {idle}; p99 ratio "
        f"{result.p99_ratio:.2f} (at least {result.low_waiting_min:,} low jobs waiting at each "
        "probe)"
    )
