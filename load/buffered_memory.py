"""A worker's memory while it holds a full buffer: N records accepted and not finished.

A backlog is put on a fresh topic first, then one real worker starts with a handler that sleeps
far longer than the measurement (no job finishes) and a buffer high-water mark a little above N
(`KEEL_WORKER_BUFFER_HIGH`; the buffer is split over the partitions, so a mark of exactly N can
pause each partition just short of it). When the worker's own `keel_jobs_buffered` gauge reads at
least N, its RSS is sampled a few times and the highest value kept. Nothing is judged: the
worker is killed, since its jobs were never meant to finish.
"""

import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2
import psutil

from keel.load.catalog import load_catalog
from keel.load.config import RunConfig
from keel.load.producer import OpenLoopProducer, ProducePlan
from keel.load.rounds import Topic, _worker_env
from keel.load.workers import WorkerPool, WorkerProcess
from keel.producers import ProducerSettings, Publisher, Route
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_HANDLER_SLEEP_MS = 3_600_000.0  # an hour: no job finishes while the buffer is measured
_BACKLOG_FACTOR = 2  # records on the topic per record held, so every partition can fill its share
_SAMPLES = 6
_SAMPLE_EVERY_S = 0.5
_POLL_S = 0.25
_BUFFERED = re.compile(r"^keel_jobs_buffered(?:\{[^}]*\})?\s+(\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class BufferedMemory:
    """The worker's RSS once it held at least `target` records (`held`: the gauge then)."""

    target: int
    held: int
    rss_mb: float
    seconds_to_fill: float


def measure_buffered_memory(
    cluster: ClusterSettings, topic: Topic, out: Path, target: int, timeout_s: float = 180.0
) -> BufferedMemory:
    """Fill one worker's buffer with `target` records of `topic` (fresh, empty) and sample it."""
    _put_backlog(cluster, topic, target * _BACKLOG_FACTOR)
    logs = out / "buffered"
    logs.mkdir(parents=True)
    config = RunConfig(scenario="buffered", sleep_ms=_HANDLER_SLEEP_MS)
    env = _worker_env(config, cluster, topic, topic.group("buffered"), logs)
    env["KEEL_WORKER_BUFFER_HIGH"] = str(target + target // 10)
    pool = WorkerPool(env, out)
    try:
        worker = pool.start()
        started = time.monotonic()
        held = _wait_until_held(worker, target, started + timeout_s)
        filled = time.monotonic() - started
        rss = _peak_rss_mb(worker.pid)
        pool.signal(worker, signal.SIGKILL)
    finally:
        pool.close(grace_s=5)
    return BufferedMemory(target, held, rss, filled)


def _put_backlog(cluster: ClusterSettings, topic: Topic, jobs: int) -> None:
    route = Route(topic=topic.name, partitions=topic.partitions)
    settings = ProducerSettings(routes={"keel.load.LoadJob": route})
    raw = clients.producer(cluster, {"linger.ms": 5})
    with Publisher(cluster, settings, load_catalog()) as publisher:
        producer = OpenLoopProducer(publisher, raw, topic.name)
        producer.run(ProducePlan(jobs=jobs))
    if producer.failures:
        raise RuntimeError(f"{len(producer.failures)} backlog jobs not delivered")


def _wait_until_held(worker: WorkerProcess, target: int, deadline: float) -> int:
    while True:
        held = _buffered(worker)
        if held >= target:
            return held
        if worker.process.poll() is not None:
            raise RuntimeError(f"the buffered worker exited; see {worker.output}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker held {held} records, not {target}")
        time.sleep(_POLL_S)


def _buffered(worker: WorkerProcess) -> int:
    try:
        answer = httpx2.get(f"http://127.0.0.1:{worker.health_port}/metrics", timeout=2)
    except httpx2.HTTPError:
        return 0
    found = _BUFFERED.search(answer.text)
    return int(float(found.group(1))) if found else 0


def _peak_rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    peak = 0
    for _ in range(_SAMPLES):
        peak = max(peak, process.memory_info().rss)
        time.sleep(_SAMPLE_EVERY_S)
    return peak / 2**20
