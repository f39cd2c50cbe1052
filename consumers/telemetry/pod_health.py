"""One health endpoint for a pod of supervised worker processes (`keel worker --processes N`).

Each child serves its own `/livez`, `/readyz` and `/metrics` on 127.0.0.1, on a port the
supervisor picked for it; the supervisor polls them every second and serves the pod's view on
`KEEL_WORKER_HEALTH_PORT`, the port a single worker uses, so probes and scrapers need no change:

- `/livez`   200 unless a running child answers 503 (its poll loop is stuck), or has not
             answered 200 for `SILENT_AFTER_S` (stopped, or too stuck to answer): Kubernetes
             then restarts the pod, as it would a single stuck worker. A child that has died,
             or started less than `SILENT_AFTER_S` ago, counts as live: the supervisor is on it.
- `/readyz`  200 when every child answers ready; the body shows each child's answer.
- `/metrics` every child's metrics, each sample labelled `child="<index>"`, and
             `keel_worker_child_restarts_total{child}`, so a dashboard sums over children.

Polling keeps the answers off the request path: a probe never waits for a child, and the
metrics a scraper reads are at most one poll old.
"""

import asyncio
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httpx2
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from keel.consumers.telemetry.health import Probe

_LOG = logging.getLogger(__name__)
POLL_EVERY_S = 1.0
# A running child that has not said it is live for this long is stuck (a worker's own liveness
# window is 15 s; this also covers a child's start-up: imports, connecting, joining).
SILENT_AFTER_S = 30.0
_ANSWER_TIMEOUT_S = 2.0


@dataclass
class ChildState:
    """What the supervisor knows of one child: its slot, its port and its last answers."""

    index: int
    port: int
    pid: int | None = None  # None while it is not running
    restarts: int = 0
    live: bool | None = None  # None: it did not answer (starting, or gone)
    live_at: float = 0.0  # monotonic: when it started, or last answered live
    ready: bool = False
    metrics: str = ""
    detail: dict[str, object] = field(default_factory=dict)

    def gone(self) -> None:
        """The child exited: forget its answers until the next one answers."""
        self.pid = None
        self.live = None
        self.ready = False
        self.detail = {}


class PodHealth:
    """The children's probes and metrics, polled, aggregated and served as one."""

    def __init__(self, children: Sequence[ChildState]) -> None:
        self._children = children
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every child once a second until `stop` is set."""
        logging.getLogger("httpx2").setLevel(logging.WARNING)  # not a line per poll
        async with httpx2.AsyncClient(timeout=_ANSWER_TIMEOUT_S) as client:
            while not stop.is_set():
                await asyncio.gather(*(self._poll(client, child) for child in self._children))
                try:
                    await asyncio.wait_for(stop.wait(), POLL_EVERY_S)
                except TimeoutError:
                    continue

    def live(self) -> Probe:
        silent_since = time.monotonic() - SILENT_AFTER_S
        stuck = [
            c.index
            for c in self._children
            if c.pid is not None and (c.live is False or c.live_at < silent_since)
        ]
        return Probe(not stuck, {"stuck_children": stuck, **self._states()})

    def ready(self) -> Probe:
        ok = all(child.ready for child in self._children)
        return Probe(ok, self._states())

    def render(self) -> str:
        return generate_latest(self._registry).decode()

    def collect(self) -> Iterator[Metric]:
        """The children's families, each sample labelled with its child, and the restarts."""
        families: dict[str, Metric] = {}
        for child in self._children:
            for family in _families(child.metrics):
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                merged.samples.extend(_labelled(family.samples, child.index))
        yield from families.values()
        restarts = CounterMetricFamily(
            "keel_worker_child_restarts", "Worker processes restarted.", labels=["child"]
        )
        for child in self._children:
            restarts.add_metric([str(child.index)], child.restarts)
        yield restarts

    def _states(self) -> dict[str, object]:
        return {
            "children": [
                {"child": c.index, "pid": c.pid, "live": c.live, "ready": c.ready, **c.detail}
                for c in self._children
            ]
        }

    async def _poll(self, client: httpx2.AsyncClient, child: ChildState) -> None:
        if child.pid is None:
            return
        base = f"http://127.0.0.1:{child.port}"
        try:
            live, ready, metrics = await asyncio.gather(
                client.get(f"{base}/livez"),
                client.get(f"{base}/readyz"),
                client.get(f"{base}/metrics"),
            )
        except httpx2.HTTPError:
            child.live, child.ready = None, False  # not serving yet, or just gone
            return
        child.live = live.status_code == httpx2.codes.OK
        if child.live:
            child.live_at = time.monotonic()
        child.ready = ready.status_code == httpx2.codes.OK
        child.detail = _detail(ready)
        child.metrics = metrics.text if metrics.status_code == httpx2.codes.OK else ""


def _families(text: str) -> Iterator[Metric]:
    try:
        yield from text_string_to_metric_families(text)
    except ValueError as error:  # a half-written answer: skip this child's metrics this once
        _LOG.warning("unreadable metrics from a child: %s", error)


def _labelled(samples: list[Sample], index: int) -> Iterator[Sample]:
    for sample in samples:
        labels = {**sample.labels, "child": str(index)}
        yield Sample(sample.name, labels, sample.value, sample.timestamp, sample.exemplar)


def _detail(answer: httpx2.Response) -> dict[str, object]:
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
