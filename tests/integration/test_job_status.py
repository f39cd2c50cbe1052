"""Job status and results by id, against the real broker and registry (docs/status.md)."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import ClassVar

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.schema_registry import SchemaRegistryClient
from typer.testing import CliRunner

from keel.cli import app as cli
from keel.consumers import App, Context, Reject, Retry
from keel.consumers.runner import Worker
from keel.producers import AsyncPublisher, ProducerSettings, Publisher, Route
from keel.producers.status import JobFailedError, ResultTimeoutError, StatusReader
from keel.producers.topics import ensure_topics
from keel.schemas.codec import JobCodec
from keel.schemas.headers import new_job_id
from keel.schemas.job import Job
from keel.schemas.status import JobStatus, StatusSettings
from tests.support.cluster import Cluster
from tests.support.topics import unique_name
from tests.support.worker import wait_for, worker_settings


class SumResult(Job):
    total: int


class AddUp(Job):
    a: int
    b: int

    keel_result: ClassVar[type[Job] | None] = SumResult


class Chore(Job):
    n: int

    keel_status: ClassVar[bool] = True


@pytest.fixture
def status_settings(admin: AdminClient) -> StatusSettings:
    """A status topic of the test's own, created as `keel topics ensure --status` would."""
    settings = StatusSettings(topic=unique_name("status"), partitions=3)
    report = ensure_topics(admin, {settings.topic: 3}, 1, settings.topic_config())
    assert report.created == [settings.topic]
    return settings


def producer_settings(topic: str, status: StatusSettings, *models: type[Job]) -> ProducerSettings:
    routes = {model.get_fullname(): Route(topic=topic, partitions=1) for model in models}
    return ProducerSettings(routes=routes, status=status)


@asynccontextmanager
async def running(
    app: App, cluster: Cluster, topic: str, status: StatusSettings
) -> AsyncIterator[Worker]:
    """A worker of `app` (decoding the app's own types) on this loop, assigned; stopped on exit."""
    settings = worker_settings(cluster, [topic], status=status)
    app.configure(settings)
    stop = asyncio.Event()
    with SchemaRegistryClient({"url": settings.cluster.schema_registry_url}) as client:
        worker = Worker(app, settings, JobCodec(client, app.catalog))
        task = asyncio.create_task(worker.run(stop))
        try:
            await wait_for(lambda: worker.ready().ok or task.done(), what="an assignment")
            if task.done():
                task.result()
            yield worker
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


async def status_becomes(
    publisher: AsyncPublisher, job_id: str, wanted: Callable[[JobStatus], bool], what: str
) -> JobStatus:
    deadline = time.monotonic() + 45
    while True:
        status = await publisher.status(job_id)
        if wanted(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never {what}; last status {status}")
        await asyncio.sleep(0.2)


async def test_a_tracked_job_goes_queued_running_done_and_its_result_is_awaited(
    cluster: Cluster, new_topic: Callable[..., str], status_settings: StatusSettings
) -> None:
    # Given a job of a type with a result model, published while no worker runs
    topic = new_topic("status-done")
    release = asyncio.Event()
    app = App(unique_name("status-done"))

    @app.handler(AddUp)
    async def add_up(job: AddUp, ctx: Context) -> SumResult:
        await release.wait()
        return SumResult(total=job.a + job.b)

    settings = producer_settings(topic, status_settings, AddUp)
    async with AsyncPublisher(cluster.settings(), settings) as publisher:
        delivery = await publisher.publish(AddUp(a=2, b=3))
        job_id = delivery.job_id
        # Then it is queued: published, reached by no worker
        queued = await status_becomes(publisher, job_id, lambda s: s.state == "queued", "queued")
        assert queued.job_type == AddUp.get_fullname()
        async with running(app, cluster, topic, status_settings):
            # When a worker starts it, it is running, on that worker, since a time
            active = await status_becomes(
                publisher, job_id, lambda s: s.state == "running", "running"
            )
            assert active.attempt == 1
            assert active.worker
            assert active.started_ms is not None
            assert active.started_ms >= (active.queued_ms or 0) - 1000
            # And once it returns, result() hands back its result, and its status is done
            waiting = asyncio.create_task(publisher.result(job_id, timeout=90, model=SumResult))
            released = time.monotonic()
            release.set()
            assert await waiting == SumResult(total=5)
            assert time.monotonic() - released < 60  # as it ended, not at the timeout
            plain = await publisher.result(job_id, timeout=5)
            assert plain == {"total": 5}
            done = await publisher.status(job_id)
            assert done.state == "done"
            assert done.finished_ms is not None
            assert done.started_ms is not None
            assert done.finished_ms >= done.started_ms


async def test_a_job_that_fails_then_succeeds_shows_retrying_with_its_attempt_and_next_time(
    cluster: Cluster, new_topic: Callable[..., str], status_settings: StatusSettings
) -> None:
    # Given a tracked job whose first attempt asks to be retried in 4 s
    topic = new_topic("status-retry")
    app = App(unique_name("status-retry"))

    @app.handler(Chore)
    async def chore(job: Chore, ctx: Context) -> None:
        if ctx.attempt == 1:
            raise Retry(after=4.0, reason="the mail server is busy")

    settings = producer_settings(topic, status_settings, Chore)
    async with (
        AsyncPublisher(cluster.settings(), settings) as publisher,
        running(app, cluster, topic, status_settings),
    ):
        job_id = (await publisher.publish(Chore(n=1))).job_id
        # Then it shows retrying: attempt 1 failed, with the error and the next attempt's time
        retrying = await status_becomes(
            publisher, job_id, lambda s: s.state == "retrying", "retrying"
        )
        assert retrying.attempt == 1
        assert retrying.error is not None
        assert "Retry" in retrying.error
        assert retrying.at_ms is not None
        assert retrying.next_attempt_ms is not None
        assert 3_000 <= retrying.next_attempt_ms - retrying.at_ms <= 5_000
        # And then done on attempt 2; a type without a result model has no result to await
        done = await status_becomes(publisher, job_id, lambda s: s.state == "done", "done")
        assert done.attempt == 2
        assert done.result is None


async def test_a_job_parked_behind_its_keys_dead_letter_reads_parked_then_done_after_a_replay(
    cluster: Cluster,
    new_topic: Callable[..., str],
    status_settings: StatusSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a tracked type whose handler rejects n=1 until it is fixed, and two jobs of one key
    topic = new_topic("status-parked")
    app = App(unique_name("status-parked"))
    fixed = asyncio.Event()

    @app.handler(Chore)
    async def chore(job: Chore, ctx: Context) -> None:
        if job.n == 1 and not fixed.is_set():
            raise Reject("n=1 is broken")

    settings = producer_settings(topic, status_settings, Chore)
    async with (
        AsyncPublisher(cluster.settings(), settings) as publisher,
        running(app, cluster, topic, status_settings),
    ):
        blocker = (await publisher.publish(Chore(n=1), "account-1")).job_id
        behind = (await publisher.publish(Chore(n=2), "account-1")).job_id
        # Then the first is dead-lettered and the second, parked behind it, says so and why
        parked = await status_becomes(publisher, behind, lambda s: s.state == "parked", "parked")
        assert (parked.reason, parked.blocked_by) == ("quarantined", blocker)
        assert parked.job_type == Chore.get_fullname()
        assert (await publisher.status(blocker)).state == "dead_lettered"
        with pytest.raises(ResultTimeoutError, match=f"last status parked .*behind {blocker}"):
            await publisher.result(behind, timeout=5)

        # When the fix ships and the blocking job is replayed (its parked job behind it)
        fixed.set()
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
        monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
        replayed = await asyncio.to_thread(CliRunner().invoke, cli, ["dlt", "replay", topic])
        assert replayed.exit_code == 0, replayed.output

        # Then both run: the parked job's status goes on from parked to done
        done = await status_becomes(publisher, behind, lambda s: s.state == "done", "done")
        assert done.blocked_by is None
        await status_becomes(publisher, blocker, lambda s: s.state == "done", "done")


def test_a_dead_lettered_jobs_result_raises_with_its_reason(
    cluster: Cluster, new_topic: Callable[..., str], status_settings: StatusSettings
) -> None:
    # Given a tracked job that its handler rejects, run by a worker in its own thread
    topic = new_topic("status-dead")
    app = App(unique_name("status-dead"))

    @app.handler(AddUp)
    async def add_up(job: AddUp, ctx: Context) -> SumResult:
        raise Reject("a and b must differ")

    settings = producer_settings(topic, status_settings, AddUp)

    async def scenario() -> None:
        async with running(app, cluster, topic, status_settings):
            # When the sync publisher waits for its result (in a thread: it blocks)
            def publish_and_wait() -> None:
                with Publisher(cluster.settings(), settings) as publisher:
                    job_id = publisher.publish(AddUp(a=1, b=1)).job_id
                    with pytest.raises(JobFailedError) as failed:
                        publisher.result(job_id, timeout=45)
                    # Then it raises with the reason, and the status says dead_lettered
                    assert failed.value.status.state == "dead_lettered"
                    assert failed.value.reason is not None
                    assert "reject" in failed.value.reason.lower()
                    assert publisher.status(job_id).state == "dead_lettered"

            await asyncio.to_thread(publish_and_wait)

    asyncio.run(scenario())


def test_an_unknown_id_is_unknown_with_why_and_waiting_for_it_times_out(
    cluster: Cluster, status_settings: StatusSettings
) -> None:
    reader = StatusReader(cluster.settings(), status_settings)
    # A job id nobody published: unknown, not found
    never = reader.status(new_job_id())
    assert never.state == "unknown"
    assert never.reason is not None
    assert never.reason.startswith("not_found")
    # One from before the retention: its status would have been deleted
    old_ms = int(time.time() * 1000) - status_settings.retention_ms - 60_000
    old = str(uuid.UUID(int=(old_ms << 80) | (7 << 76) | (2 << 62) | 12345))
    expired = reader.status(old)
    assert (expired.state, (expired.reason or "").split(":")[0]) == ("unknown", "past_retention")
    # Something that is no job id at all
    nonsense = reader.status("order-17")
    assert (nonsense.state, (nonsense.reason or "").split(":")[0]) == ("unknown", "not_a_job_id")
    # And waiting for a result that never comes raises once the timeout passes
    with Publisher(cluster.settings(), ProducerSettings(status=status_settings)) as publisher:
        started = time.monotonic()
        with pytest.raises(ResultTimeoutError) as timed_out:
            publisher.result(new_job_id(), timeout=2)
        waited = time.monotonic() - started
        assert waited >= 1.5, waited  # the 2 s timeout, give or take the clock's grain
        assert waited < 20, waited
        assert timed_out.value.status.state == "unknown"


def topic_config(admin: AdminClient, topic: str) -> dict[str, str]:
    """The topic's configuration, asked again while a broker has not seen the new topic yet."""
    deadline = time.monotonic() + 30
    resource = ConfigResource("topic", topic)
    while True:
        try:
            [config] = [f.result(10) for f in admin.describe_configs([resource]).values()]
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            return {name: entry.value for name, entry in config.items()}


def test_topics_ensure_status_creates_the_compacted_status_topic(
    cluster: Cluster, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = unique_name("status-cli")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
    monkeypatch.setenv("KEEL_ROUTES", json.dumps({"x.Y": {"topic": unique_name("t")}}))
    monkeypatch.setenv("KEEL_STATUS_TOPIC", topic)
    monkeypatch.setenv("KEEL_STATUS_RETENTION_MS", "7200000")

    result = CliRunner().invoke(cli, ["topics", "ensure", "--status"])

    assert result.exit_code == 0, result.output
    assert f"created {topic} (6 partitions)" in result.output
    config = topic_config(admin, topic)
    assert config["cleanup.policy"] == "compact,delete"
    assert config["retention.ms"] == "7200000"


def test_jobs_status_shows_a_queued_job_and_exits_3_for_an_unknown_one(
    cluster: Cluster,
    new_topic: Callable[..., str],
    status_settings: StatusSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a tracked job published with no worker running
    topic = new_topic("status-cli")
    settings = producer_settings(topic, status_settings, Chore)
    with Publisher(cluster.settings(), settings) as publisher:
        job_id = publisher.publish(Chore(n=3)).job_id
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
    monkeypatch.setenv("KEEL_STATUS_TOPIC", status_settings.topic)
    runner = CliRunner()
    # When `keel jobs status` asks, as JSON and plain
    shown = runner.invoke(cli, ["jobs", "status", job_id, "--json"])
    plain = runner.invoke(cli, ["jobs", "status", job_id])
    missing = runner.invoke(cli, ["jobs", "status", new_job_id()])
    # Then it is queued, with its type and the time in its id; an unknown id exits 3 with why
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert (document["state"], document["job_type"]) == ("queued", Chore.get_fullname())
    assert document["queued"].startswith(time.strftime("%Y-%m-%d", time.gmtime()))
    assert plain.exit_code == 0, plain.output
    assert "state: queued" in plain.output
    assert missing.exit_code == 3, missing.output
    assert "state: unknown" in missing.output
    assert "reason: not_found" in missing.output
