"""The dispatcher of delayed jobs under load: its memory with many jobs pending, and lateness.

`python -m keel.load.delayed_bench --pending 1000000 --rate 5000 --seconds 60` (on the cluster of
the environment, `KAFKA_BOOTSTRAP_SERVERS` and `SCHEMA_REGISTRY_URL`, or on a private local
stack of its own when they are unset):

1. publishes one delayed job through `Publisher` and reads its record back from the delayed
   topic: the template, exactly what a publisher writes;
2. fills the delayed topic with `--pending` copies of it due in a week, each with its own job
   id and due time, produced raw in large batches (a million in well under a minute, where
   publishing them one by one would take many): they stay pending throughout, in a far tier;
3. starts `keel dispatcher run` as a process of its own (under pyinstrument with `--profile`)
   and waits until it leads;
4. writes `--rate` copies per second for `--seconds`, each due `--lead` seconds after it is
   written and put in the tier a publisher would choose, so the dispatcher refiles them down
   the tiers and releases about `--rate` jobs per second once they come due;
5. reads every released job back (read_committed) while the dispatcher runs, and reports, per
   job, its lateness: the release's record timestamp minus its `keel-deliver-at`, as p50, p99
   and max (and how many were early, which must be none); the dispatcher's resident memory
   (VmRSS sampled every 0.2 s, its maximum, and VmHWM) and the CPU time it used.

Lateness is measured with the dispatcher's own clock (the record timestamp its producer sets
when it releases the job) against the due time; both run on one machine here. The transaction
that makes the release visible commits after that timestamp, within the same step.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from keel.load.topics import delete_groups, delete_topics
from keel.load.worker_bench import cluster as bench_cluster
from keel.producers.delayed.loop import ensure_delayed_topics
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.timing import now_ms, tier
from keel.producers.publisher import Publisher
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.demo import SendEmail
from keel.schemas.headers import DELIVER_AT, JOB_ID, Headers, header_value
from keel.schemas.settings import ClusterSettings

_EMAIL = "keel.jobs.SendEmail"
_PARTITIONS = 6
_FAR_MS = 7 * 86_400_000
# Raw writes: large compressed batches, so that a million records take seconds.
_FILL_CONFIG = {"linger.ms": 50, "batch.size": 1_000_000, "compression.type": "lz4"}


@dataclass(frozen=True)
class Load:
    """What a run asks of the dispatcher: jobs pending far away, and jobs coming due."""

    pending: int = 1_000_000
    rate: float = 5_000  # jobs coming due per second
    seconds: float = 60  # for this long
    lead: float = 5  # each written this many seconds before it is due


@dataclass(frozen=True)
class DelayedBenchResult:
    """What one run measured."""

    pending: int
    rate: float
    seconds: float
    fill_s: float
    released: int
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    early: int
    rss_max_mib: float
    rss_hwm_mib: float
    # The dispatcher's CPU from its start to the last release: on a shared machine, what it
    # cost regardless of how much of a core it was given.
    dispatcher_cpu_s: float


@dataclass(frozen=True)
class _Template:
    """A delayed record as the publisher wrote it, to copy with other ids and due times."""

    key: bytes | None
    value: bytes
    headers: Headers

    def copy(self, job_id: str, due: int) -> Headers:
        kept = [(k, v) for k, v in self.headers if k not in {JOB_ID, DELIVER_AT}]
        return [*kept, (JOB_ID, job_id), (DELIVER_AT, str(due))]


def _email(n: int) -> SendEmail:
    return SendEmail(user_id=uuid.uuid4(), to=f"u{n}@example.com", template="t", params={})


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds the process has used (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.max_kib, self.hwm_kib, self.cpu_s = pid, 0, 0, 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                self.max_kib = max(self.max_kib, _rss_kib(self.pid, "VmRSS"))
                self.hwm_kib = _rss_kib(self.pid, "VmHWM")
                self.cpu_s = _cpu_s(self.pid)
            except (FileNotFoundError, ProcessLookupError):
                return


def _template(cluster: ClusterSettings, settings: ProducerSettings) -> _Template:
    with Publisher(cluster, settings) as publisher:
        delivery = publisher.publish(_email(0), "k0", delay=timedelta(days=7))
    reader = clients.consumer(cluster, f"bench-{uuid.uuid4().hex}", {"enable.auto.commit": False})
    reader.assign([TopicPartition(delivery.topic, delivery.partition, delivery.offset)])
    try:
        message: Message | None = None
        while message is None or message.error() is not None:
            message = reader.poll(1.0)
    finally:
        reader.close()
    raw = message.headers() or []
    headers: Headers = list(raw.items()) if isinstance(raw, dict) else list(raw)
    return _Template(message.key(), message.value() or b"", headers)


def _produce(producer: Producer, topic: str, template: _Template, n: int, due: int) -> None:
    headers = template.copy(f"bench-{n}", due)
    partition = tier(due - now_ms())
    while True:
        try:
            producer.produce(topic, template.value, f"k{n % 1000}", partition, headers=headers)
        except BufferError:
            producer.poll(0.05)
        else:
            return


def _fill(producer: Producer, topic: str, template: _Template, count: int) -> float:
    """`count` jobs due in a week, produced raw; returns the seconds it took."""
    start, due = time.monotonic(), now_ms() + _FAR_MS
    for n in range(count):
        _produce(producer, topic, template, n, due + n)
    producer.flush(300)
    return time.monotonic() - start


def _at_rate(producer: Producer, topic: str, template: _Template, load: Load) -> int:
    """`load.rate` jobs a second for `load.seconds`, each due `load.lead` s after it is written."""
    total, start, lead_ms = int(load.rate * load.seconds), time.monotonic(), round(load.lead * 1000)
    for n in range(total):
        wait = start + n / load.rate - time.monotonic()
        if wait > 0.005:
            time.sleep(wait)
            producer.poll(0)
        _produce(producer, topic, template, 10_000_000_000 + n, now_ms() + lead_ms)
    producer.flush(300)
    return total


@contextmanager
def _dispatcher(
    cluster: ClusterSettings, delayed: str, profile: Path | None
) -> Iterator[subprocess.Popen[bytes]]:
    log = Path(tempfile.mkdtemp(prefix="keel-delayed-bench-")) / "dispatcher.log"
    command = [sys.executable, "-m", "keel", "dispatcher", "run"]
    if profile is not None:
        command[1:1] = ["-m", "pyinstrument", "-o", str(profile)]
    env = {**os.environ, **_env(cluster), "KEEL_DELAYED_TOPIC": delayed}
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while ": leading" not in log.read_text():
            if process.poll() is not None:
                raise RuntimeError(f"the dispatcher exited: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(120)


def run(cluster: ClusterSettings, load: Load, profile: Path | None = None) -> DelayedBenchResult:
    tag = uuid.uuid4().hex[:8]
    topic, delayed = f"bench-delayed-jobs-{tag}", f"bench-delayed-{tag}"
    settings = ProducerSettings(
        routes={_EMAIL: Route(topic=topic, partitions=_PARTITIONS)}, delayed_topic=delayed
    )
    names = DelayedNames(delayed)
    try:
        return _measure(cluster, settings, load, profile)
    finally:
        delete_topics(cluster, [topic, *names.partitions()])
        delete_groups(cluster, [names.leader_group, names.progress_group])


def _measure(
    cluster: ClusterSettings, settings: ProducerSettings, load: Load, profile: Path | None
) -> DelayedBenchResult:
    topic, delayed = settings.routes[_EMAIL].topic, settings.delayed_topic
    ensure_topics(clients.admin(cluster), {topic: _PARTITIONS})
    ensure_delayed_topics(cluster, settings)
    template = _template(cluster, settings)
    producer = clients.producer(cluster, _FILL_CONFIG)
    fill_s = _fill(producer, delayed, template, load.pending)
    with _dispatcher(cluster, delayed, profile) as process:
        sampler = _Sampler(process.pid)
        sampler.start()
        try:
            due = _at_rate(producer, delayed, template, load)
            # Read while the dispatcher runs: the end offsets would count transaction markers.
            lateness = sorted(_lateness(cluster, topic, due, load.seconds + load.lead + 300))
        finally:
            sampler.stop.set()
    return DelayedBenchResult(
        load.pending,
        load.rate,
        load.seconds,
        round(fill_s, 1),
        len(lateness),
        _q(lateness, 0.5),
        _q(lateness, 0.99),
        lateness[-1] if lateness else float("nan"),
        sum(1 for x in lateness if x < 0),
        round(sampler.max_kib / 1024, 1),
        round(sampler.hwm_kib / 1024, 1),
        round(sampler.cpu_s, 1),
    )


def _env(cluster: ClusterSettings) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": cluster.kafka_bootstrap_servers,
        "SCHEMA_REGISTRY_URL": cluster.schema_registry_url,
    }


def _reader(cluster: ClusterSettings) -> Consumer:
    return clients.consumer(
        cluster,
        f"bench-{uuid.uuid4().hex}",
        {"isolation.level": "read_committed", "enable.auto.commit": False},
    )


def _lateness(cluster: ClusterSettings, topic: str, count: int, timeout: float) -> list[float]:
    reader = _reader(cluster)
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(_PARTITIONS)])
    found: list[float] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for message in reader.consume(10_000, 0.5):
                if message.error() is None:
                    due = int(header_value(message.headers(), DELIVER_AT) or b"0")
                    found.append(float(message.timestamp()[1] - due))
    finally:
        reader.close()
    return found


def _q(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=Load.pending)
    parser.add_argument("--rate", type=float, default=Load.rate)
    parser.add_argument("--seconds", type=float, default=Load.seconds)
    parser.add_argument("--lead", type=float, default=Load.lead, help="each job's delay, s")
    parser.add_argument(
        "--profile", type=Path, default=None, help="run the dispatcher under pyinstrument"
    )
    args = parser.parse_args()
    with bench_cluster() as cluster:
        load = Load(args.pending, args.rate, args.seconds, args.lead)
        result = run(cluster, load, args.profile)
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
