"""The rounds of a run: one live round (produce while workers run), then replay rounds.

The live round is where latency, faults and the oracle are measured: jobs arrive on schedule
while keel's workers run them. Replay rounds measure throughput on data already on the broker:
a fresh consumer group of keel workers, and the hand-written baseline loop, take turns on the
same records, so each ratio compares the two at the same moment on the same machine.
"""

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from confluent_kafka import KafkaException

from keel.load.baseline import BaselineSpec, run_baseline
from keel.load.catalog import load_catalog
from keel.load.collections_log import SUFFIX, CollectionLog, read_collections
from keel.load.completions import LoggedRun, read_completions
from keel.load.config import RunConfig
from keel.load.dead_letters import mark_dead_letters, read_dead_letters
from keel.load.faults import FaultInjector
from keel.load.jobs import LoadJob
from keel.load.lag import LagProbe
from keel.load.latency import LatencyRecorder
from keel.load.monitor import Monitor
from keel.load.oracle import Verdict, judge
from keel.load.producer import OpenLoopProducer, ProducePlan, WarmUp
from keel.load.profile import LoadHandler, LoadProfile
from keel.load.report import Rate, TimelinePoint
from keel.load.resources import ProcessSample
from keel.load.sent import SentLedger
from keel.load.stalls import find_stalls
from keel.load.tail import CompletionTail
from keel.load.workers import WorkerPool
from keel.producers import ProducerSettings, Publisher, Route
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic

_READY_TIMEOUT_S = 90.0
_DRAIN_POLL_S = 0.25


@dataclass
class LiveResult:
    sent: SentLedger
    verdict: Verdict
    latency: LatencyRecorder
    rate: Rate
    timeline: list[TimelinePoint]
    resources: dict[str, float]
    faults: list[str]
    startup: dict[str, float]
    # Every CPU and RSS sample of every worker, in time order (the soak plots them).
    resource_samples: list[ProcessSample] = field(default_factory=list)


class Progress(Protocol):
    """Where a run reports what it is doing: a progress bar, or nothing."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, amount: int) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass(frozen=True)
class Topic:
    """A run's topic; `run_id` is in its name and in the name of every group of the run."""

    name: str
    partitions: int
    run_id: str

    def group(self, kind: str) -> str:
        """A fresh consumer group of this run, for one round."""
        return f"keel-load-{kind}-{self.run_id}-{uuid.uuid4().hex[:6]}"

    def owns_group(self, group: str) -> bool:
        return group.startswith("keel-load-") and f"-{self.run_id}-" in group


def live_round(
    config: RunConfig,
    cluster: ClusterSettings,
    topic: Topic,
    out: Path,
    *,
    progress: Progress,
    restart_broker: Callable[[], None] | None = None,
) -> LiveResult:
    logs = out / "live"
    logs.mkdir(parents=True)
    group = topic.group("live")
    pool = WorkerPool(_worker_env(config, cluster, topic, group, logs), out)
    lag = LagProbe(cluster, group, topic.name, topic.partitions)
    drain_probe = LagProbe(cluster, group, topic.name, topic.partitions)
    monitor = Monitor(CompletionTail(logs), lag, pool, every_s=config.sample_every_s)
    harness_collections = CollectionLog(logs / f"collections-harness{SUFFIX}")
    harness_collections.install()
    injector = None
    try:
        for _ in range(config.workers):
            pool.start()
        progress.phase(f"starting {config.workers} workers")
        pool.wait_ready(_READY_TIMEOUT_S)
        monitor.start()
        if config.fault is not None:
            pause_s = config.session_timeout_ms / 1000 + 2
            injector = FaultInjector(
                config.fault, pool, config.fault_every_s, pause_s, restart_broker
            )
            injector.start()
        progress.phase("live round: producing", config.jobs)
        producer = _produce(config, cluster, topic, progress.advance)
        if injector is not None:
            injector.stop()
        progress.phase("live round: draining")
        # Asked afresh, after the producer flushed: the monitor's last sample may predate it.
        _drain(lambda: drain_probe.lag() == 0, config.drain_timeout_s, "the live round to drain")
    finally:
        if injector is not None:
            injector.stop()  # idempotent: also stops faults when producing failed
        pool.close(grace_s=30)
        monitor.stop()
        lag.close()
        drain_probe.close()
        harness_collections.close()
    dead = read_dead_letters(cluster, dead_letter_topic(topic.name))
    completions = list(read_completions(logs.glob("*.log")))
    _write_stalls(out, completions, logs)
    return LiveResult(
        sent=producer.sent,
        verdict=judge(producer.sent, [c.run for c in completions], dead),
        latency=_latency(completions, producer.warm_up),
        rate=_rate(completions),
        timeline=monitor.timeline,
        resources=monitor.resources.peaks(),
        faults=injector.events if injector is not None else [],
        startup=_startup(producer.warm_up, completions),
        resource_samples=monitor.resources.samples,
    )


def _write_stalls(out: Path, completions: list[LoggedRun], logs: Path) -> None:
    """`stalls.json`: the round's slow jobs against the collections of every process."""
    collections = read_collections(logs.glob(f"*{SUFFIX}"))
    stalls = find_stalls(completions, collections, harness_pid=os.getpid())
    (out / "stalls.json").write_text(json.dumps(stalls.to_json(), indent=2) + "\n")


def keel_replay(
    config: RunConfig, cluster: ClusterSettings, topic: Topic, out: Path, sent: SentLedger
) -> tuple[Rate, Verdict]:
    """A fresh group of keel workers runs every record already on the topic.

    The round is judged like the live one: its poison must reach the dead-letter topic again,
    so only the letters it adds count.
    """
    dead_letters = dead_letter_topic(topic.name)
    before = mark_dead_letters(cluster, dead_letters)
    logs = out / f"replay-{uuid.uuid4().hex[:6]}"
    logs.mkdir(parents=True)
    group = topic.group("replay")
    pool = WorkerPool(_worker_env(config, cluster, topic, group, logs), out)
    lag = LagProbe(cluster, group, topic.name, topic.partitions)
    try:
        for _ in range(config.workers):
            pool.start()
        _drain(lambda: lag.lag() == 0, config.drain_timeout_s, "a keel replay round")
    finally:
        pool.close(grace_s=30)
        lag.close()
    completions = list(read_completions(logs.glob("*.log")))
    dead = read_dead_letters(cluster, dead_letters, after=before)
    return _rate(completions), judge(sent, [c.run for c in completions], dead)


def baseline_replay(
    config: RunConfig, cluster: ClusterSettings, topic: Topic, out: Path, jobs: int
) -> Rate:
    """The hand-written loop runs the first `jobs` records with the same handler."""
    logs = out / f"baseline-{uuid.uuid4().hex[:6]}"
    handler = LoadHandler(_profile(config, logs))
    schema = json.loads(load_catalog().of(LoadJob).schema_str)

    async def handle(job: object) -> None:
        assert isinstance(job, LoadJob)  # noqa: S101 - the spec's model is LoadJob
        await handler(job)

    spec = BaselineSpec(topic.name, schema, LoadJob, handle, expected=jobs)
    try:
        run_baseline(cluster, topic.group("base"), spec)
    finally:
        handler.close()
    return _rate(list(read_completions(logs.glob("*.log"))))


def _produce(
    config: RunConfig, cluster: ClusterSettings, topic: Topic, advance: Callable[[int], None]
) -> OpenLoopProducer:
    route = Route(topic=topic.name, partitions=topic.partitions)
    settings = ProducerSettings(routes={"keel.load.LoadJob": route})
    raw = clients.producer(cluster, {"linger.ms": 5})
    plan = ProducePlan(
        jobs=config.jobs,
        rate=config.rate,
        keys=config.keys,
        skew=config.skew,
        payload_bytes=config.payload_bytes,
        poison_rate=config.poison_rate,
        seed=config.seed,
    )
    with Publisher(cluster, settings, load_catalog()) as publisher:
        producer = OpenLoopProducer(publisher, raw, topic.name)
        producer.run(plan, advance)
    if producer.failures:
        raise RuntimeError(f"{len(producer.failures)} jobs not delivered: {producer.failures[:3]}")
    return producer


def _worker_env(
    config: RunConfig, cluster: ClusterSettings, topic: Topic, group: str, logs: Path
) -> dict[str, str]:
    return _status_env(config) | {
        "KAFKA_BOOTSTRAP_SERVERS": cluster.kafka_bootstrap_servers,
        "SCHEMA_REGISTRY_URL": cluster.schema_registry_url,
        "KEEL_WORKER_TOPICS": json.dumps([topic.name]),
        "KEEL_WORKER_GROUP_ID": group,
        "KEEL_WORKER_MAX_IN_FLIGHT": str(config.max_in_flight),
        "KEEL_WORKER_COMMIT_INTERVAL": "0.5",
        "KEEL_WORKER_SESSION_TIMEOUT_MS": str(config.session_timeout_ms),
        # The harness's poison is a stray undecodable record among a key's jobs, and its oracle
        # expects the jobs behind it to run: key quarantine (on by default, which parks them)
        # is off here, and proven on its own by tests/integration/test_key_quarantine.py.
        "KEEL_WORKER_QUARANTINE_KEYS": "false",
        "KEEL_LOAD_SLEEP_MS": str(config.sleep_ms),
        "KEEL_LOAD_CPU_MS": str(config.cpu_ms),
        "KEEL_LOAD_FAILURE_RATE": str(config.failure_rate),
        "KEEL_LOAD_LOG_DIR": str(logs),
    }


def _status_env(config: RunConfig) -> dict[str, str]:
    """With `--status`, every job's transitions are recorded, to a topic of the harness's own."""
    if not config.status:
        return {}
    return {"KEEL_STATUS_TRACK": json.dumps(["*"]), "KEEL_STATUS_TOPIC": "keel.status.load"}


def _profile(config: RunConfig, logs: Path) -> LoadProfile:
    return LoadProfile(sleep_ms=config.sleep_ms, cpu_ms=config.cpu_ms, log_dir=logs)


def _drain(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not _holds(done):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(_DRAIN_POLL_S)


def _holds(condition: Callable[[], bool]) -> bool:
    """The condition, where a broker that cannot answer yet (just restarted) means "not yet"."""
    try:
        return condition()
    except KafkaException:
        return False


def _latency(runs: list[LoggedRun], warm_up: WarmUp | None = None) -> LatencyRecorder:
    """From each job's intended send time to the end of its first successful run.

    The warm-up job counts from its ack: the wait for the producer id before it is reported
    as the first publish (`_startup`), not as the workers' latency.
    """
    recorder = LatencyRecorder()
    first: dict[str, LoggedRun] = {}
    for logged in runs:
        if not logged.run.ok:
            continue
        seen = first.get(logged.run.job_id)
        if seen is None or logged.run.end_ns < seen.run.end_ns:
            first[logged.run.job_id] = logged
    for logged in first.values():
        warm = warm_up is not None and logged.run.job_id == warm_up.job_id
        began = warm_up.returned_ns if warm_up is not None and warm else logged.intended_ns
        recorder.record_ns(began, logged.run.end_ns)
    return recorder


def _startup(warm_up: WarmUp | None, runs: list[LoggedRun]) -> dict[str, float]:
    """The publisher's first publish, and how soon the ready workers ran that first job.

    `first_publish_ms`: from the call to the broker's ack, on a publisher just opened.
    `first_job_ms`: from that ack to the end of the job's first successful run.
    """
    if warm_up is None:  # every job was poison
        return {}
    ends = [r.run.end_ns for r in runs if r.run.ok and r.run.job_id == warm_up.job_id]
    found = {"first_publish_ms": (warm_up.returned_ns - warm_up.began_ns) / 1e6}
    if ends:
        found["first_job_ms"] = (min(ends) - warm_up.returned_ns) / 1e6
    return found


def _rate(runs: list[LoggedRun]) -> Rate:
    """Unique jobs completed over the time from the first completion to the last."""
    done = [logged.run for logged in runs if logged.run.ok]
    if not done:
        return Rate(0, 0.0)
    ends = [run.end_ns for run in done]
    return Rate(len({run.job_id for run in done}), (max(ends) - min(ends)) / 1e9)
