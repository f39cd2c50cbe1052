"""Dead letters replayed after the fault is fixed succeed; replaying again adds nothing."""

import asyncio
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from keel.cli import app as keel_cli
from keel.consumers import App, Context, RetryPolicy
from keel.schemas.demo import SendEmail
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
from tests.support.sample import email, seq_of
from tests.support.worker import (
    JobProducer,
    end_offsets,
    read_all,
    running,
    wait_for,
    worker_settings,
)


class TemplateMissingError(Exception):
    pass


async def test_replayed_dead_letters_succeed_once_fixed_and_a_second_replay_adds_nothing(
    cluster: Cluster, new_topic: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given jobs of which the odd ones fail fatally while a template is missing
    topic = new_topic("replay", partitions=2)
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n, 0) for n in range(10))
    producer.close()
    app = App(f"replay-{topic}", retry=RetryPolicy(max_attempts=2, fatal=(TemplateMissingError,)))
    fixed = False
    succeeded: list[tuple[str, int]] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        key = seq_of(job)[0]
        if int(key) % 2 and not fixed:
            raise TemplateMissingError(f"no template for user {key}")
        succeeded.append((key, ctx.attempt))

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
    cli = CliRunner()
    async with running(app, worker_settings(cluster, [topic])):
        await wait_for(lambda: len(succeeded) == 5, 30, "the even jobs")
        letters = await asyncio.to_thread(read_all, cluster, dead_letter_topic(topic), 5)
        assert len(letters) == 5
        listed = await asyncio.to_thread(
            cli.invoke, keel_cli, ["dlt", "list", topic, "--error-class", _error_class()]
        )
        assert listed.exit_code == 0, listed.output
        assert len(listed.output.splitlines()) == 5
        shown = await asyncio.to_thread(
            cli.invoke, keel_cli, ["dlt", "show", topic, f"{letters[0].partition}:0"]
        )
        assert "keel-dlt-reason: fatal-error" in shown.output

        # When the fault is fixed and the dead letters are replayed (twice)
        fixed = True
        first = await asyncio.to_thread(
            cli.invoke, keel_cli, ["dlt", "replay", topic, "--job-type", "keel.jobs.SendEmail"]
        )
        assert first.exit_code == 0, first.output
        assert "replayed 5, already replayed 0" in first.output
        await wait_for(lambda: len(succeeded) == 10, 30, "the replayed jobs")
        ends = end_offsets(cluster, topic, 2)
        second = await asyncio.to_thread(cli.invoke, keel_cli, ["dlt", "replay", topic])
        assert "replayed 0, already replayed 5" in second.output

    # Then every job succeeded exactly once, and the second replay enqueued nothing
    assert sorted(key for key, _ in succeeded) == sorted(str(n) for n in range(10))
    assert {attempt for _, attempt in succeeded} == {1}
    assert end_offsets(cluster, topic, 2) == ends
    replayed = [r for r in read_all(cluster, topic, 15) if "keel-replay-of" in r.headers]
    assert len(replayed) == 5
    assert all(r.headers["keel-attempt"] == "1" for r in replayed)


def _error_class() -> str:
    return f"{TemplateMissingError.__module__}.{TemplateMissingError.__qualname__}"
