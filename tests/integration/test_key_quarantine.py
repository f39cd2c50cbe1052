"""Key quarantine against the real broker: a rejected job parks its key's later jobs, a restart
keeps the hold, a replay runs the key in order again, a release lets the parked jobs go."""

import asyncio
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from keel.cli import app as keel_cli
from keel.consumers import App, Context, Reject
from keel.schemas.demo import SendEmail
from keel.schemas.headers import BLOCKED_BY, DLT_REASON
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
from tests.support.sample import email, seq_of
from tests.support.worker import (
    JobProducer,
    committed,
    end_offsets,
    read_all,
    running,
    wait_for,
    worker_settings,
)

HELD, OTHERS = 0, (1, 2)  # sample keys: the one whose third job is rejected, and two more


class Recorder:
    """A handler that rejects step 3 of the held key until fixed, and records what ran."""

    def __init__(self, group: str) -> None:
        self.app = App(group)
        self.ran: list[tuple[int, int]] = []
        self.fixed = False

        @self.app.handler(SendEmail)
        async def handle(job: SendEmail, ctx: Context) -> None:
            key, seq = seq_of(job)
            if int(key) == HELD and seq == 3 and not self.fixed:
                raise Reject("step 3 is broken")
            self.ran.append((int(key), seq))

    def of(self, key: int) -> list[int]:
        return [seq for k, seq in self.ran if k == key]


def publish(cluster: Cluster, topic: str, keys: tuple[int, ...], seqs: range) -> None:
    producer = JobProducer(cluster, topic)
    producer.send_all(email(key, seq) for seq in seqs for key in keys)
    producer.close()


def dead_letter_count(cluster: Cluster, topic: str) -> int:
    return end_offsets(cluster, dead_letter_topic(topic), 1)[0]


async def park_step_three(cluster: Cluster, topic: str, recorder: Recorder) -> None:
    """Ten jobs of each key; the held key's 3rd is rejected and its 4th-10th are parked."""
    publish(cluster, topic, (HELD, *OTHERS), range(1, 11))
    async with running(recorder.app, worker_settings(cluster, [topic])) as worker:
        await wait_for(lambda: dead_letter_count(cluster, topic) == 8, 60, "7 parked jobs")
        await wait_for(lambda: all(recorder.of(k) == list(range(1, 11)) for k in OTHERS), 30)
        group = recorder.app.name
        await wait_for(lambda: committed(cluster, group, topic, 1)[0] == 30, 30, "commit")
        snapshot = worker.metrics.snapshot()
        assert (snapshot.quarantined, snapshot.parked) == (1, 7)
    assert recorder.of(HELD) == [1, 2]


def cli(cluster: Cluster, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
    result = CliRunner().invoke(keel_cli, ["dlt", *args])
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_rejected_job_parks_its_key_a_restart_keeps_it_and_a_replay_runs_it_in_order(
    cluster: Cluster, new_topic: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key whose 3rd job was rejected: its 4th-10th are parked, the other keys ran
    topic = new_topic("quarantine", partitions=1)
    recorder = Recorder(f"quarantine-{topic}")
    await park_step_three(cluster, topic, recorder)
    letters = read_all(cluster, dead_letter_topic(topic), 8)
    assert [r.headers[DLT_REASON] for r in letters] == ["rejected: step 3 is broken"] + [
        "quarantined"
    ] * 7
    assert {r.headers[BLOCKED_BY] for r in letters[1:]} == {f"{topic}/0/6"}

    # When the worker restarts, a new job of the key arrives, and step 3 is fixed and replayed
    publish(cluster, topic, (HELD,), range(11, 12))
    recorder.fixed = True
    async with running(recorder.app, worker_settings(cluster, [topic])):
        await wait_for(lambda: dead_letter_count(cluster, topic) == 9, 60, "job 11 parked")
        assert recorder.of(HELD) == [1, 2]  # the restarted worker still holds the key
        output = await asyncio.to_thread(cli, cluster, monkeypatch, "replay", topic)
        assert "replayed 9, already replayed 0" in output
        publish(cluster, topic, (HELD,), range(12, 13))
        await wait_for(lambda: len(recorder.of(HELD)) == 12, 60, "the held key's jobs")

    # Then the key ran 3-12 after 1-2, in order, each once
    assert recorder.of(HELD) == list(range(1, 13))


async def test_release_runs_the_parked_jobs_without_the_blocking_one(
    cluster: Cluster, new_topic: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key whose 3rd job was rejected and whose 4th-10th are parked
    topic = new_topic("release", partitions=1)
    recorder = Recorder(f"release-{topic}")
    await park_step_three(cluster, topic, recorder)

    # When the key is released
    key = email(HELD, 0)[1].decode()
    async with running(recorder.app, worker_settings(cluster, [topic])):
        output = await asyncio.to_thread(cli, cluster, monkeypatch, "release", topic, key)
        assert f"released 7 parked jobs held behind {topic}/0/6" in output
        publish(cluster, topic, (HELD,), range(11, 12))
        await wait_for(lambda: len(recorder.of(HELD)) == 10, 60, "the released jobs")

    # Then 4-11 ran in order, and 3 never did
    assert recorder.of(HELD) == [1, 2, *range(4, 12)]
