"""Periodic jobs: each fire time published once, with two schedulers, a crash and a zombie."""

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.producers.records import RecordBuilder
from keel.producers.scheduler import Scheduler, run_scheduler
from keel.producers.scheduler.leader import FencedError, Parts, Term
from keel.producers.scheduler.state import ensure_state_topic, fire_id, from_ms
from keel.producers.settings import ProducerSettings, Route, SchedulerSettings
from keel.schemas.catalog import JobCatalog, JobType
from keel.schemas.codec import JobCodec
from keel.schemas.demo import demo_catalog
from keel.schemas.headers import JOB_ID, SCHEDULED_FOR, header_value
from keel.schemas.job import Job
from tests.support.cluster import Cluster
from tests.support.consume import read_records, read_to_end
from tests.support.schedules import every_second
from tests.support.topics import unique_name
from tests.support.waiting import wait_until

_REPORT = "keel.jobs.GenerateReport"


class SchedulerProcess:
    """`keel scheduler run tests.support.schedules:every_second`, logging to a file."""

    def __init__(self, cluster: Cluster, name: str, topic: str, log: Path) -> None:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": cluster.registry_url,
            "KEEL_ROUTES": json.dumps({_REPORT: {"topic": topic, "partitions": 1}}),
            "KEEL_TEST_SCHEDULER": name,
            "KEEL_SCHEDULER_SESSION_TIMEOUT_MS": "6000",
        }
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "keel",
                    "scheduler",
                    "run",
                    "tests.support.schedules:every_second",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def leading(self) -> bool:
        """Whether its last word on leadership is that it leads."""
        text = self.log.read_text()
        return text.rfind(": leading") > text.rfind("no longer leading")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


@pytest.fixture
def processes() -> Iterator[list[SchedulerProcess]]:
    started: list[SchedulerProcess] = []
    yield started
    for process in started:
        process.stop()


def fire_times(records: list[Message]) -> list[int]:
    return [int(header_value(r.headers(), SCHEDULED_FOR) or b"-1") for r in records]


def test_two_schedulers_and_a_leader_crash_publish_every_second_once(
    cluster: Cluster,
    new_topic: Callable[..., str],
    tmp_path: Path,
    processes: list[SchedulerProcess],
) -> None:
    # Given two scheduler processes of one scheduler, firing every second
    topic, name = new_topic("scheduled"), unique_name("sched")
    processes += [SchedulerProcess(cluster, name, topic, tmp_path / f"{n}.log") for n in "ab"]
    wait_until(lambda: any(p.leading() for p in processes), 60, "a leader")
    leader = next(p for p in processes if p.leading())
    standby = next(p for p in processes if p is not leader)
    assert len(read_records(cluster.bootstrap_servers, topic, 4, timeout=30)) == 4

    # When the leader is killed without a chance to leave the group
    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait(30)
    published_at_kill = len(read_to_end(cluster.bootstrap_servers, topic, timeout=60))

    # Then the standby takes over, catches up the seconds missed, and goes on
    wait_until(standby.leading, 60, "the standby to take over")
    wanted = published_at_kill + 12
    assert len(read_records(cluster.bootstrap_servers, topic, wanted, timeout=60)) == wanted
    standby.process.send_signal(signal.SIGTERM)
    assert standby.process.wait(30) == 0

    records = read_to_end(cluster.bootstrap_servers, topic)
    fires = fire_times(records)
    assert len(fires) == len(set(fires)), "a fire time was published twice"
    assert fires == list(range(fires[0], fires[-1] + 1000, 1000)), "a second was skipped"
    scope = f"{name}/tick"
    assert [header_value(r.headers(), JOB_ID) for r in records] == [
        fire_id(scope, from_ms(f)).encode() for f in fires
    ]


def test_a_fenced_leader_publishes_nothing(cluster: Cluster, new_topic: Callable[..., str]) -> None:
    # Given a leader whose producer a newer leader of the same scheduler has fenced
    topic = new_topic("fenced")
    scheduler = Scheduler(unique_name("fence"))
    scheduler.add(every_second.schedules[0])
    settings = ProducerSettings(routes={_REPORT: Route(topic=topic, partitions=1)})
    ensure_state_topic(cluster.settings(), scheduler.state_topic, -1)
    with SchemaRegistryClient({"url": cluster.registry_url}) as registry:
        builder = RecordBuilder(JobCodec(registry, demo_catalog()), settings)
        config = settings.to_confluent()
        parts = Parts(scheduler, cluster.settings(), config, builder, 30.0)
        zombie = Term.open(parts)
        leader = Term.open(parts)
        later = datetime.now(UTC) + timedelta(seconds=3)
        try:
            # When the old leader tries to publish the fires that came due
            with pytest.raises(FencedError):
                zombie.fire_due(later)
            # Then only the new leader can
            fired = leader.fire_due(later)
        finally:
            zombie.close()
            leader.close()
    assert fired >= 2
    records = read_to_end(cluster.bootstrap_servers, topic)
    assert len(records) == fired
    assert len(set(fire_times(records))) == fired


class Heartbeat(Job):
    """A job type of the test's own: neither its model nor its schema is in keel."""

    service: str
    beat_at_ms: int

    class Meta:
        namespace = "keel.test.scheduled"


_HEARTBEAT_SCHEMA = {
    "type": "record",
    "name": "Heartbeat",
    "namespace": "keel.test.scheduled",
    "fields": [{"name": "service", "type": "string"}, {"name": "beat_at_ms", "type": "long"}],
}


def test_a_scheduler_publishes_the_job_types_of_its_own_catalog(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given a scheduler whose catalog holds only a job type this test defines
    topic = new_topic("own-jobs")
    catalog = JobCatalog([JobType.from_schema(Heartbeat, _HEARTBEAT_SCHEMA)])
    scheduler = Scheduler(unique_name("own"), catalog=catalog)

    @scheduler.every(1, name="beat")
    def beat(at: datetime) -> Heartbeat:
        return Heartbeat(service="billing", beat_at_ms=int(at.timestamp() * 1000))

    routes = ProducerSettings(routes={"keel.test.scheduled.Heartbeat": Route(topic=topic)})
    stop = threading.Event()
    running = threading.Thread(
        target=run_scheduler,
        args=(scheduler, stop),
        kwargs={
            "cluster": cluster.settings(),
            "producer_settings": routes,
            "settings": SchedulerSettings(session_timeout_ms=6000),
        },
    )

    # When it runs until its first fires are on the topic
    running.start()
    try:
        records = read_records(cluster.bootstrap_servers, topic, 2, timeout=60)
    finally:
        stop.set()
        running.join(30)

    # Then they decode, by the registry's schema id, to the test's own type
    assert not running.is_alive()
    assert len(records) == 2
    with SchemaRegistryClient({"url": cluster.registry_url}) as registry:
        jobs = [JobCodec(registry, catalog).decode(r.value()) for r in records]
    beats = [job for job in jobs if isinstance(job, Heartbeat)]
    assert len(beats) == len(jobs)
    assert [beat.beat_at_ms for beat in beats] == fire_times(records)
