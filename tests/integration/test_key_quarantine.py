"""Key quarantine against the real broker: a rejected job parks its key's later jobs, a restart
keeps the hold, a replay runs the key in order again, a release lets the parked jobs go."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from typer.testing import CliRunner

from keel.cli import app as keel_cli
from keel.consumers import App, Context, Reject
from keel.schemas.demo import SendEmail
from keel.schemas.headers import BLOCKED_BY, DLT_REASON
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email, seq_of
from tests.support.waiting import wait_until
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
    try:
        return end_offsets(cluster, dead_letter_topic(topic), 1)[0]
    except KafkaException:  # the worker has not created the dead-letter topic yet
        return 0


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


def parked_origins(cluster: Cluster, topic: str) -> set[int]:
    """The origin offsets of the parked records in `topic`'s dead-letter topic."""
    letters = read_all(cluster, dead_letter_topic(topic), dead_letter_count(cluster, topic), 10)
    return {
        int(r.headers["keel-dlt-origin-offset"])
        for r in letters
        if r.headers.get(DLT_REASON) == "quarantined"
    }


def test_a_killed_worker_leaves_the_key_held_and_a_replay_after_the_fix_runs_it_in_order(
    cluster: Cluster,
    new_topic: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Given worker processes that reject one template (a bug), and ten jobs of three keys where
    # the held key's 3rd job has that template
    topic = new_topic("quarantine-kill", partitions=1)
    group, output = f"kill-{topic}", tmp_path / "finished"
    producer = JobProducer(cluster, topic)
    for seq in range(1, 11):
        for key in (HELD, *OTHERS):
            job, job_key = email(key, seq)
            broken = key == HELD and seq == 3
            producer.send(job.model_copy(update={"template": "broken"}) if broken else job, job_key)
    producer.flush()
    buggy = {"KEEL_TEST_REJECT": "broken"}

    def held() -> list[int]:
        return [seq for key, seq, _pid in lines(output) if key == str(HELD)]

    # When the first worker parks 4-10 and is killed (-9) at once, a job 11 of the key arrives,
    # and a restarted worker with the same bug runs
    first = WorkerProcess(cluster, topic, group, output, env=buggy)
    try:
        wait_until(lambda: dead_letter_count(cluster, topic) >= 8, 90, "7 parked jobs")
    finally:
        first.kill()
    producer.send(*email(HELD, 11))
    producer.flush()
    second = WorkerProcess(cluster, topic, group, output, env=buggy)
    try:
        wait_until(lambda: 30 in parked_origins(cluster, topic), 90, "job 11 parked")
        assert set(held()) <= {1, 2}
        assert second.terminate() == 0
    finally:
        second.stop()

    # And the fix ships, step 3 is replayed, and a job 12 of the key follows
    fixed = WorkerProcess(cluster, topic, group, output)
    try:
        assert "already replayed 0" in cli(cluster, monkeypatch, "replay", topic)
        producer.send(*email(HELD, 12))
        producer.close()
        wait_until(lambda: 12 in held(), 90, "job 12 of the held key")
    finally:
        fixed.stop()

    # Then 3-12 ran once each, after 1-2 and in order (1-2 may run again after the kill)
    runs = held()
    assert [seq for seq in runs if seq >= 3] == list(range(3, 13))
    assert set(runs[: runs.index(3)]) == {1, 2}
    assert parked_origins(cluster, topic) == {9, 12, 15, 18, 21, 24, 27, 30}


async def test_a_replayed_blocker_with_nothing_parked_behind_it_lifts_the_hold(
    cluster: Cluster, new_topic: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key whose last job, its 3rd, was rejected: nothing is parked behind it
    topic = new_topic("quarantine-alone", partitions=1)
    recorder = Recorder(f"alone-{topic}")
    publish(cluster, topic, (HELD,), range(1, 4))
    async with running(recorder.app, worker_settings(cluster, [topic])) as worker:
        await wait_for(lambda: dead_letter_count(cluster, topic) == 1, 60, "the rejected job")
        await wait_for(lambda: worker.metrics.snapshot().quarantined == 1, 30, "the hold")

    # When step 3 is fixed and replayed, and a 4th job of the key follows
    recorder.fixed = True
    async with running(recorder.app, worker_settings(cluster, [topic])) as worker:
        output = await asyncio.to_thread(cli, cluster, monkeypatch, "replay", topic)
        assert "replayed 1, already replayed 0" in output
        publish(cluster, topic, (HELD,), range(4, 5))
        await wait_for(lambda: len(recorder.of(HELD)) == 4, 60, "the key's 4th job")
        assert worker.metrics.snapshot().quarantined == 0

    # Then the key ran 1-4 in order, and nothing more was parked
    assert recorder.of(HELD) == [1, 2, 3, 4]
    assert dead_letter_count(cluster, topic) == 1
