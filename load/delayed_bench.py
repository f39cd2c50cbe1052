"""The dispatcher of delayed jobs under load: its memory with many jobs pending, and lateness.

`python -m keel.load.delayed_bench --pending 100000 --rate 2000 --seconds 10` (on the cluster of
the environment, `KAFKA_BOOTSTRAP_SERVERS` and `SCHEMA_REGISTRY_URL`):

1. publishes `--pending` jobs due in a week (they stay pending throughout: the far tiers);
2. starts `keel dispatcher run` as a process of its own and waits until it leads;
3. publishes `--rate` jobs per second for `--seconds`, each due `--lead` seconds after it is
   published, so the dispatcher releases about `--rate` jobs per second once they come due;
4. reads every released job back (read_committed) and reports, per job, its lateness: the
   release's record timestamp minus its `keel-deliver-at`, as p50, p99 and max; and the
   dispatcher's resident memory (VmRSS sampled every 0.2 s, its maximum, and VmHWM) before and
   after the pending jobs were read.

Lateness is measured with the dispatcher's own clock (the record timestamp its producer sets)
against the due time the publisher computed, so it includes the skew between the two; here
both run on one machine.
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
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from keel.producers.delayed.loop import ensure_delayed_topics
from keel.producers.publisher import Publisher
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.demo import SendEmail
from keel.schemas.headers import DELIVER_AT, header_value
from keel.schemas.settings import ClusterSettings

_EMAIL = "keel.jobs.SendEmail"


@dataclass(frozen=True)
class DelayedBenchResult:
    """What one run measured."""

    pending: int
    rate: float
    seconds: float
    released: int
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    early: int
    rss_max_mib: float
    rss_hwm_mib: float


def _email(n: int) -> SendEmail:
    return SendEmail(user_id=uuid.uuid4(), to=f"u{n}@example.com", template="t", params={})


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.max_kib, self.hwm_kib = pid, 0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                self.max_kib = max(self.max_kib, _rss_kib(self.pid, "VmRSS"))
                self.hwm_kib = _rss_kib(self.pid, "VmHWM")
            except (FileNotFoundError, ProcessLookupError):
                return


def run(
    cluster: ClusterSettings, pending: int, rate: float, seconds: float, lead: float
) -> DelayedBenchResult:
    tag = uuid.uuid4().hex[:8]
    topic, delayed = f"bench-delayed-jobs-{tag}", f"bench-delayed-{tag}"
    settings = ProducerSettings(
        routes={_EMAIL: Route(topic=topic, partitions=6)}, delayed_topic=delayed
    )
    ensure_topics(clients.admin(cluster), {topic: 6})
    ensure_delayed_topics(cluster, settings)
    with Publisher(cluster, settings) as publisher:
        for n in range(pending):
            publisher.publish_nowait(_email(n), f"k{n % 1000}", delay=timedelta(days=7))
        publisher.flush()
        log = Path(tempfile.mkdtemp(prefix="keel-delayed-bench-")) / "dispatcher.log"
        with log.open("wb") as out:
            env = {**os.environ, **_env(cluster), "KEEL_DELAYED_TOPIC": delayed}
            process = subprocess.Popen(
                [sys.executable, "-m", "keel", "dispatcher", "run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        sampler = _Sampler(process.pid)
        sampler.start()
        try:
            while ": leading" not in log.read_text():
                time.sleep(0.2)
            due = _publish_at_rate(publisher, rate, seconds, lead)
            lateness = _lateness(cluster, topic, due, timeout=seconds + lead + 120)
        finally:
            sampler.stop.set()
            process.terminate()
            process.wait(60)
    ordered = sorted(lateness)
    return DelayedBenchResult(
        pending,
        rate,
        seconds,
        len(ordered),
        _q(ordered, 0.5),
        _q(ordered, 0.99),
        ordered[-1] if ordered else float("nan"),
        sum(1 for x in ordered if x < 0),
        sampler.max_kib / 1024,
        sampler.hwm_kib / 1024,
    )


def _env(cluster: ClusterSettings) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": cluster.kafka_bootstrap_servers,
        "SCHEMA_REGISTRY_URL": cluster.schema_registry_url,
    }


def _publish_at_rate(publisher: Publisher, rate: float, seconds: float, lead: float) -> int:
    total, start = int(rate * seconds), time.monotonic()
    for n in range(total):
        wait = start + n / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        publisher.publish_nowait(_email(n), f"k{n % 1000}", delay=lead)
    publisher.flush()
    return total


def _lateness(cluster: ClusterSettings, topic: str, count: int, timeout: float) -> list[float]:
    reader = clients.consumer(
        cluster,
        f"bench-{uuid.uuid4().hex}",
        {"isolation.level": "read_committed", "enable.auto.commit": False},
    )
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(6)])
    found: list[float] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None or message.error() is not None:
                continue
            due = int(header_value(message.headers(), DELIVER_AT) or b"0")
            found.append(float(message.timestamp()[1] - due))
    finally:
        reader.close()
    return found


def _q(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--lead", type=float, default=5, help="each job's delay, seconds")
    args = parser.parse_args()
    result = run(ClusterSettings(), args.pending, args.rate, args.seconds, args.lead)
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
