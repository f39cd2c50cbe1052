"""What `await publisher.publish(job)` costs a web endpoint: latency at a steady rate.

`keel bench publish-latency --rate 1000 --seconds 30` opens an `AsyncPublisher` with the demo
catalog (so its schema id is resolved when it opens, as a service that lists its job types gets),
publishes one `SendEmail` right away (the first publish after opening),
then publishes open-loop at `--rate` jobs/s: each job is due at its own time whether or not the
earlier ones have returned, and each is one awaited `publish` in a task of its own, as one
request of a web app would be. Every publish waits for the broker's acknowledgement
(acks=all, idempotent, the publisher's default settings).

Reported: the latency of each `await publish()` from the call to its return (what the endpoint
pays), and from the job's due time to its return (the same plus any lag of this loop behind the
schedule: a loop that falls behind shows here, not hidden), as p50, p90, p99, p99.9 and max.
"""

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from keel.load.bench import sample_values
from keel.load.topics import delete_topics
from keel.producers.aio import AsyncPublisher
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.settings import ClusterSettings

_WARM_UP_S = 2.0
_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p99_9": 0.999, "max": 1.0}


@dataclass(frozen=True)
class PublishLatencyResult:
    """Milliseconds per quantile, of the calls after the warm-up."""

    rate: float
    seconds: float
    publishes: int
    achieved_per_s: float
    open_ms: float
    first_publish_ms: float
    call_ms: dict[str, float]  # from `publish(...)` to its return
    due_ms: dict[str, float]  # from the job's due time to its return

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantiles(samples: list[float]) -> dict[str, float]:
    """The reported quantiles of `samples` (nearest rank), in the samples' unit."""
    ordered = sorted(samples)
    last = len(ordered) - 1
    return {name: ordered[min(last, int(q * len(ordered)))] for name, q in _QUANTILES.items()}


def run_publish_latency(
    cluster: ClusterSettings, rate: float, seconds: float, partitions: int
) -> PublishLatencyResult:
    """Publish at `rate` for `seconds` after a warm-up, awaiting each publish.

    The bench's topic is deleted when it ends (`keel.load.topics`).
    """
    topic = f"bench.latency.{uuid.uuid4().hex[:8]}"
    ensure_topics(clients.admin(cluster), {topic: partitions})
    settings = ProducerSettings(routes={SendEmail.get_fullname(): Route(topic=topic)})
    try:
        return asyncio.run(_measure(cluster, settings, rate, seconds))
    finally:
        delete_topics(cluster, [topic])


async def _measure(
    cluster: ClusterSettings, settings: ProducerSettings, rate: float, seconds: float
) -> PublishLatencyResult:
    count = int(rate * (seconds + _WARM_UP_S))
    values = sample_values(count + 1)
    opening = time.perf_counter()
    async with AsyncPublisher(cluster, settings, demo_catalog()) as publisher:
        opened = time.perf_counter()
        first = values[0]
        await publisher.publish(SendEmail(**first), key=first["user_id"])
        first_done = time.perf_counter()
        timings = await _open_loop(publisher, values[1:], rate)
    started = timings[0][0]
    measured = [t for t in timings if t[0] - started >= _WARM_UP_S]
    span = max(t[2] for t in measured) - measured[0][0]
    return PublishLatencyResult(
        rate=rate,
        seconds=seconds,
        publishes=len(measured),
        achieved_per_s=len(measured) / span,
        open_ms=(opened - opening) * 1000,
        first_publish_ms=(first_done - opened) * 1000,
        call_ms=quantiles([(done - called) * 1000 for _due, called, done in measured]),
        due_ms=quantiles([(done - due) * 1000 for due, _called, done in measured]),
    )


async def _open_loop(
    publisher: AsyncPublisher, values: list[dict[str, Any]], rate: float
) -> list[tuple[float, float, float]]:
    """(due, called, done) of each publish, each started at its due time in a task of its own."""
    start = time.perf_counter()
    tasks = []
    for n, fields in enumerate(values):
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(_timed(publisher, fields, due)))
    return list(await asyncio.gather(*tasks))


async def _timed(
    publisher: AsyncPublisher, fields: dict[str, Any], due: float
) -> tuple[float, float, float]:
    called = time.perf_counter()
    await publisher.publish(SendEmail(**fields), key=fields["user_id"])
    return due, called, time.perf_counter()
