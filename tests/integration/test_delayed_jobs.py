"""Delayed jobs on a real broker: released once at their time, through a crash, a zombie and
a standby; cancelled ones never; a delay beyond the maximum refused before anything is sent."""

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from keel.cli import app
from keel.producers import Publisher
from keel.producers.delayed.loop import ensure_delayed_topics, run_dispatcher
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.pending import pending_jobs
from keel.producers.delayed.settings import DispatcherSettings
from keel.producers.delayed.status import Counts
from keel.producers.delayed.term import DispatchParts, DispatchTerm
from keel.producers.delayed.timing import TIERS
from keel.producers.errors import DelayError
from keel.producers.scheduler.leader import FencedError
from keel.producers.settings import ProducerSettings, Route
from keel.producers.status import JobFailedError
from keel.producers.topics import ensure_topics
from keel.schemas.headers import DELIVER_AT, JOB_ID, STATUS_TRACKED, header_value
from keel.schemas.status import StatusSettings
from tests.support.cluster import Cluster
from tests.support.consume import read_records, read_to_end
from tests.support.dispatchers import DispatcherProcess
from tests.support.jobs import send_email
from tests.support.topics import unique_name
from tests.support.waiting import wait_until

_EMAIL = "keel.jobs.SendEmail"


def settings_for(topic: str, delayed: str) -> ProducerSettings:
    return ProducerSettings(
        routes={_EMAIL: Route(topic=topic, partitions=1)}, delayed_topic=delayed
    )


def job_ids(records: list[Message]) -> list[str]:
    return [(header_value(r.headers(), JOB_ID) or b"").decode() for r in records]


class DispatcherThread:
    """`run_dispatcher` on a thread of the test, stopped (and its counts kept) at the end."""

    def __init__(self, cluster: Cluster, settings: ProducerSettings) -> None:
        self.stop = threading.Event()
        self.counts = Counts()
        self._thread = threading.Thread(target=self._run, args=(cluster, settings))
        self._thread.start()

    def _run(self, cluster: Cluster, settings: ProducerSettings) -> None:
        self.counts = run_dispatcher(
            self.stop,
            cluster=cluster.settings(),
            producer_settings=settings,
            settings=DispatcherSettings(session_timeout_ms=6000),
        )

    def join(self) -> Counts:
        self.stop.set()
        self._thread.join(60)
        assert not self._thread.is_alive()
        return self.counts


@pytest.fixture
def processes() -> Iterator[list[DispatcherProcess]]:
    started: list[DispatcherProcess] = []
    yield started
    for process in started:
        process.stop()


def test_a_job_with_a_two_second_countdown_arrives_after_two_seconds_once(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given a dispatcher, and a job published with a 2 s countdown
    topic, delayed = new_topic("countdown"), unique_name("delayed")
    settings = settings_for(topic, delayed)
    ensure_delayed_topics(cluster.settings(), settings)
    dispatcher = DispatcherThread(cluster, settings)
    try:
        with Publisher(cluster.settings(), settings) as publisher:
            published_ms = time.time_ns() // 1_000_000
            delivery = publisher.publish(send_email(), "user-1", delay=2)
        # Then it is durable in the delayed topic at once, and on its topic 2 s later, once
        assert delivery.topic == delayed
        records = read_records(cluster.bootstrap_servers, topic, 1, timeout=60)
        assert len(records) == 1
    finally:
        counts = dispatcher.join()
    released = read_to_end(cluster.bootstrap_servers, topic)
    assert job_ids(released) == [delivery.job_id]
    _, released_ms = released[0].timestamp()
    assert released_ms >= published_ms + 2000
    assert int(header_value(released[0].headers(), DELIVER_AT) or b"0") <= released_ms
    assert counts.outcomes.get("released") == 1


def test_a_cancelled_job_is_never_released(cluster: Cluster, new_topic: Callable[..., str]) -> None:
    # Given two delayed jobs, the first of them cancelled
    topic, delayed = new_topic("cancel"), unique_name("delayed")
    settings = settings_for(topic, delayed)
    ensure_delayed_topics(cluster.settings(), settings)
    with Publisher(cluster.settings(), settings) as publisher:
        cancelled = publisher.publish(send_email(), "user-1", delay=1).job_id
        kept = publisher.publish(send_email(), "user-2", delay=2).job_id
        publisher.cancel(cancelled)
    names = DelayedNames(delayed)
    assert [j.job_id for j in pending_jobs(cluster.settings(), names, 10)] == [kept]

    # When the dispatcher runs until nothing is pending
    dispatcher = DispatcherThread(cluster, settings)
    try:
        wait_until(lambda: not pending_jobs(cluster.settings(), names, 10), 60, "no pending")
    finally:
        counts = dispatcher.join()

    # Then only the other job reached its topic
    assert job_ids(read_to_end(cluster.bootstrap_servers, topic)) == [kept]
    assert counts.outcomes.get("cancelled") == 1


def test_a_cancelled_tracked_job_reads_cancelled_and_its_result_raises(
    cluster: Cluster, new_topic: Callable[..., str], admin: AdminClient
) -> None:
    # Given a status topic, and two delayed jobs cancelled: one of a type its publisher tracks,
    # one from a publisher that tracks nothing
    topic, delayed = new_topic("cancel-status"), unique_name("delayed")
    tracking = StatusSettings(topic=unique_name("status"), partitions=3, track=(_EMAIL,))
    assert ensure_topics(admin, {tracking.topic: 3}, 1, tracking.topic_config()).created
    settings = settings_for(topic, delayed).model_copy(update={"status": tracking})
    untracking = settings.model_copy(update={"status": tracking.model_copy(update={"track": ()})})
    ensure_delayed_topics(cluster.settings(), settings)
    with Publisher(cluster.settings(), untracking) as publisher:
        untracked = publisher.publish(send_email(), "user-1", delay=1).job_id
        publisher.cancel(untracked)
    with Publisher(cluster.settings(), settings) as publisher:
        tracked = publisher.publish(send_email(), "user-2", delay=1).job_id
        kept = publisher.publish(send_email(), "user-3", delay=1).job_id
        publisher.cancel(tracked)

        # When the dispatcher runs, while the publisher waits for the tracked job's result
        dispatcher = DispatcherThread(cluster, settings)
        try:
            with pytest.raises(JobFailedError) as failed:
                publisher.result(tracked, timeout=60)
            names = DelayedNames(delayed)
            wait_until(lambda: not pending_jobs(cluster.settings(), names, 10), 60, "no pending")
        finally:
            counts = dispatcher.join()

        # Then the wait ends with the cancel, and the status says cancelled, with its type
        assert failed.value.status.state == "cancelled"
        assert failed.value.reason == "cancelled before its release"
        assert publisher.status(tracked).job_type == _EMAIL
        # And the untracked job has no status; the released one is still queued (no worker)
        assert publisher.status(untracked).state == "unknown"
        assert publisher.status(kept).state == "queued"
    assert counts.outcomes.get("cancelled") == 2
    released = read_to_end(cluster.bootstrap_servers, topic)
    assert job_ids(released) == [kept]
    assert header_value(released[0].headers(), STATUS_TRACKED) is None  # dropped on release


def test_a_delay_beyond_the_maximum_is_refused_before_anything_is_sent(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic, delayed = new_topic("too-far"), unique_name("delayed")
    settings = settings_for(topic, delayed).model_copy(update={"max_delay_s": 3600.0})
    ensure_delayed_topics(cluster.settings(), settings)
    with Publisher(cluster.settings(), settings) as publisher:
        with pytest.raises(DelayError, match="beyond the maximum"):
            publisher.publish(send_email(), "user-1", delay=timedelta(hours=1, seconds=1))
        with pytest.raises(DelayError, match="beyond the maximum"):
            publisher.publish_nowait(
                send_email(), "user-1", eta=datetime.now(UTC) + timedelta(days=2)
            )
        # An ETA in the past runs now: straight to its topic
        now = publisher.publish(send_email(), "user-1", eta=datetime.now(UTC) - timedelta(hours=1))
    assert now.topic == topic
    assert read_to_end(cluster.bootstrap_servers, delayed, partitions=TIERS) == []
    assert job_ids(read_to_end(cluster.bootstrap_servers, topic)) == [now.job_id]


def test_pending_lists_the_earliest_due_first(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic, delayed = new_topic("pending"), unique_name("delayed")
    settings = settings_for(topic, delayed)
    ensure_delayed_topics(cluster.settings(), settings)
    with Publisher(cluster.settings(), settings) as publisher:
        late = publisher.publish(send_email(), "a", delay=timedelta(days=3)).job_id
        soon = publisher.publish(send_email(), "b", delay=30).job_id
        middle = publisher.publish(send_email(), "c", delay=timedelta(hours=2)).job_id
    listed = pending_jobs(cluster.settings(), DelayedNames(delayed), 2)
    assert [j.job_id for j in listed] == [soon, middle]
    assert late not in [j.job_id for j in listed]
    assert {j.topic for j in listed} == {topic}

    # The command line says the same, one JSON object per job
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": cluster.registry_url,
        "KEEL_DELAYED_TOPIC": delayed,
    }
    shown = CliRunner().invoke(app, ["jobs", "pending", "--json", "--limit", "3"], env=env)
    assert shown.exit_code == 0, shown.output
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [line["job_id"] for line in lines] == [soon, middle, late]


def test_a_fenced_dispatcher_releases_nothing(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given a dispatcher whose producer a newer one of the same delayed topic has fenced
    topic, delayed = new_topic("fenced"), unique_name("delayed")
    settings = settings_for(topic, delayed)
    ensure_delayed_topics(cluster.settings(), settings)
    with Publisher(cluster.settings(), settings) as publisher:
        ids = [publisher.publish(send_email(), f"k{n}", delay=0.5).job_id for n in range(3)]
    parts = DispatchParts(
        DelayedNames(delayed), cluster.settings(), settings.to_confluent(), DispatcherSettings(), 30
    )
    zombie = DispatchTerm.open(parts)
    leader = DispatchTerm.open(parts)
    counts = Counts()
    try:
        time.sleep(1.0)  # let the jobs come due (their due time, not a wait for a result)
        # When the old one tries to release them
        zombie_counts = Counts()
        with pytest.raises(FencedError):
            step_for_a_minute(zombie, zombie_counts)
        assert zombie_counts.transactions == 0
        # Then only the new one can, and does
        deadline = time.monotonic() + 60
        while counts.outcomes.get("released", 0) < 3 and time.monotonic() < deadline:
            leader.step(1.0, counts)
    finally:
        zombie.close()
        leader.close()
    assert counts.outcomes == {"released": 3}, counts
    # commit_transaction returns once the coordinator has logged the commit; the markers that
    # make the records readable (read_committed) reach the partition after that.
    wait_until(lambda: released_count(cluster, topic) >= 3, 60, "the releases to be readable")
    assert sorted(job_ids(read_to_end(cluster.bootstrap_servers, topic))) == sorted(ids)


def released_count(cluster: Cluster, topic: str) -> int:
    return len(read_to_end(cluster.bootstrap_servers, topic))


def step_for_a_minute(term: DispatchTerm, counts: Counts) -> None:
    """Step `term` until it raises or a minute has passed (it reads the due jobs, then commits)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        term.step(1.0, counts)


def test_a_killed_dispatcher_loses_and_duplicates_none_of_10000_jobs(
    cluster: Cluster,
    new_topic: Callable[..., str],
    tmp_path: Path,
    processes: list[DispatcherProcess],
) -> None:
    # Given two dispatcher processes and 10,000 delayed jobs coming due over 10 s
    topic, delayed = new_topic("crash", partitions=3), unique_name("delayed")
    settings = settings_for(topic, delayed)
    ensure_delayed_topics(cluster.settings(), settings)
    processes += [DispatcherProcess(cluster, delayed, tmp_path / f"{n}.log") for n in "ab"]
    wait_until(lambda: any(p.leading() for p in processes), 90, "a leader")
    count = 10_000
    with Publisher(cluster.settings(), settings) as publisher:
        start = datetime.now(UTC) + timedelta(seconds=8)
        for n in range(count):
            eta = start + timedelta(milliseconds=n)  # one per millisecond: 10 s of due times
            publisher.publish_nowait(send_email(), f"user-{n % 97}", eta=eta)
        publisher.flush()

    # When the leader is SIGKILLed while they come due
    wait_until(
        lambda: len(read_records(cluster.bootstrap_servers, topic, 1_000, 5)) >= 1_000,
        90,
        "the first releases",
    )
    # (the group may have moved leadership when the second process joined: who leads is
    # decided now, and only one does)
    [leader] = [p for p in processes if p.leading()]
    [standby] = [p for p in processes if p is not leader]
    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait(30)

    # Then the standby takes over, and every job reaches its topic exactly once
    wait_until(standby.leading, 90, "the standby to take over")
    wait_until(lambda: not pending_of(cluster, delayed), 120, "nothing pending")
    released = read_to_end(cluster.bootstrap_servers, topic, partitions=3, timeout=60)
    ids = job_ids(released)
    assert len(set(ids)) == count, f"{count - len(set(ids))} job(s) lost"
    assert len(ids) == count, f"{len(ids) - len(set(ids))} job(s) released twice"
    for record in released:
        assert record.timestamp()[1] >= int(header_value(record.headers(), DELIVER_AT) or b"0")


def pending_of(cluster: Cluster, delayed: str) -> list[object]:
    return list(pending_jobs(cluster.settings(), DelayedNames(delayed), 1))
