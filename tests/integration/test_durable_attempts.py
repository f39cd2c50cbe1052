"""Attempts that outlive their worker: crash loops end, retries keep their place and their wait."""

import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import NamedTuple

import pytest
from confluent_kafka import Consumer, TopicPartition

from keel.consumers import App, Context, Retry
from keel.consumers.pipeline.metadata import InFlight, decode_metadata, encode_metadata
from keel.schemas.demo import SendEmail
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
from tests.support.crash_apps import MAX_ATTEMPTS
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import (
    JobProducer,
    end_offsets,
    read_all,
    running,
    wait_for,
    worker_settings,
)

CRASH_KEY = 0
CRASH_SEQ = 1
BEHIND = range(CRASH_SEQ + 1, 6)  # the jobs queued behind the crashing one on its key
OTHER_KEY = 1
# A supervisor restarts a dead worker; more starts than this means the loop did not end.
MAX_STARTS = MAX_ATTEMPTS + 3


def runs_of(path: Path) -> list[int]:
    """The attempt number of every run of the crashing job, in order."""
    if not path.exists():
        return []
    return [int(line.split()[0]) for line in path.read_text().splitlines()]


class Supervisor:
    """Starts a worker process, and a new one each time the last one has died (bounded)."""

    def __init__(self, start: Callable[[], WorkerProcess]) -> None:
        self._start = start
        self.started: list[WorkerProcess] = []

    def keep_running(self) -> None:
        if self.started and self.started[-1].process.poll() is None:
            return
        assert len(self.started) < MAX_STARTS, "the worker kept dying: the crash loop goes on"
        self.started.append(self._start())

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


class Crash(NamedTuple):
    delay: float  # how long the crashing job runs before it ends its process
    most_runs: int  # the bound on its runs
    quarantine: bool  # its key quarantined behind its dead letter


@pytest.mark.parametrize(
    "crash",
    [
        # Dies at once: the first run, on an owner in normal mode, may end before any commit
        # carried it; every later run is recorded before it starts (careful mode).
        Crash(0.0, MAX_ATTEMPTS + 1, quarantine=False),
        # Dies after a periodic commit carried its attempt: every run counts.
        Crash(1.5, MAX_ATTEMPTS, quarantine=False),
        # With its key quarantined (the default), the jobs behind it are parked instead.
        Crash(0.0, MAX_ATTEMPTS + 1, quarantine=True),
    ],
    ids=["dies-at-once", "dies-after-a-commit", "dies-at-once-quarantined"],
)
def test_a_job_that_kills_its_worker_runs_a_bounded_number_of_times_then_its_key_goes_on(
    cluster: Cluster,
    new_topic: Callable[..., str],
    tmp_path: Path,
    crash: Crash,
) -> None:
    crash_delay, most_runs, quarantine = crash
    # Given a key whose second job ends its worker's process, with jobs queued behind it, and
    # another key beside it
    topic = new_topic("crashloop", partitions=1)
    producer = JobProducer(cluster, topic)
    producer.send_all(email(CRASH_KEY, seq) for seq in range(BEHIND.stop))
    producer.send_all(email(OTHER_KEY, seq) for seq in range(3))
    producer.close()
    output, runs = tmp_path / "finished", tmp_path / "runs"
    group = f"crashloop-{topic}"

    def start() -> WorkerProcess:
        # A supervisor such as a StatefulSet restarts the pod under the same name: the new
        # process takes the dead one's place in the group without waiting out its session.
        return WorkerProcess(
            cluster,
            topic,
            group,
            output,
            target="tests.support.crash_apps:app",
            env={
                "KEEL_TEST_CRASH_JOB": f"{CRASH_KEY} {CRASH_SEQ}",
                "KEEL_TEST_CRASH_DELAY": str(crash_delay),
                "KEEL_TEST_RUNS": str(runs),
            },
            group_instance_id="crashloop-worker",
            quarantine_keys=str(quarantine).lower(),
        )

    supervisor = Supervisor(start)
    wanted = {(str(OTHER_KEY), s) for s in range(3)}
    if not quarantine:
        wanted |= {(str(CRASH_KEY), seq) for seq in BEHIND}
    set_aside = 1 + (len(BEHIND) if quarantine else 0)  # the crash loop, and what it parked

    def settled() -> bool:
        supervisor.keep_running()
        finished = wanted <= {(key, seq) for key, seq, _pid in lines(output)}
        return finished and end_offsets(cluster, dead_letter_topic(topic), 1) == {0: set_aside}

    # When a supervisor restarts the worker each time it dies
    try:
        wait_until(settled, 150, "the jobs behind the crashing one")
        letters = read_all(cluster, dead_letter_topic(topic), set_aside, timeout=60)
    finally:
        supervisor.stop()

    # Then the job ran a bounded number of times, each run numbered after the ones before it
    attempts = runs_of(runs)
    assert MAX_ATTEMPTS <= len(attempts) <= most_runs, attempts
    assert attempts[-MAX_ATTEMPTS:] == list(range(1, MAX_ATTEMPTS + 1))
    assert len(supervisor.started) == len(attempts) + 1  # the last one lives
    # ... it sits in the dead-letter topic as a crash loop that names its attempts
    assert end_offsets(cluster, dead_letter_topic(topic), 1) == {0: set_aside}
    letter, *parked = letters
    assert letter.headers["keel-dlt-reason"] == "crash-loop"
    assert letter.headers["keel-dlt-attempts"] == str(MAX_ATTEMPTS)
    assert letter.headers["keel-dlt-origin-offset"] == str(CRASH_SEQ)
    assert f"{MAX_ATTEMPTS} attempt(s)" in letter.headers["keel-dlt-error-message"]
    behind = [seq for key, seq, _pid in lines(output) if key == str(CRASH_KEY) and seq > CRASH_SEQ]
    if quarantine:
        # ... and the jobs behind it on its key were parked behind it, in order, never run
        assert behind == []
        assert [p.headers["keel-dlt-reason"] for p in parked] == ["quarantined"] * len(BEHIND)
        assert [int(p.headers["keel-dlt-origin-offset"]) for p in parked] == list(BEHIND)
        assert {p.headers["keel-blocked-by"] for p in parked} == {f"{topic}/0/{CRASH_SEQ}"}
    else:
        # ... and the jobs behind it on its key ran, in order
        assert parked == []
        assert sorted(set(behind)) == list(BEHIND)
        assert behind[: len(BEHIND)] == list(BEHIND)


def test_in_flight_metadata_at_its_size_limit_is_stored_and_read_back_by_the_broker(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given more attempts in flight than the metadata can hold
    topic = new_topic("metadata-k2", partitions=1)
    in_flight = {
        100 + 50 * n: InFlight(begun=3, due_ms=int(time.time() * 1000) + n) for n in range(3000)
    }
    metadata = encode_metadata(
        100, range(101, 20_000, 3), in_flight, sealed=True, now_ms=int(time.time() * 1000)
    )
    config = {"bootstrap.servers": cluster.bootstrap_servers, "group.id": f"meta-{topic}"}
    # When it is committed and read back
    writer = Consumer(config)
    try:
        writer.commit(offsets=[TopicPartition(topic, 0, 100, metadata)], asynchronous=False)
    finally:
        writer.close()
    reader = Consumer(config)
    try:
        [back] = reader.committed([TopicPartition(topic, 0)], timeout=30)
    finally:
        reader.close()
    # Then the broker took it whole (it refuses more than 4096 bytes)
    assert back.metadata == metadata
    assert decode_metadata(back.offset, back.metadata).in_flight


RETRY_AFTER = 10.0
HANDOVER_AFTER = 3.0  # how far into its wait the retry is when its worker leaves


async def test_a_retry_waiting_out_its_backoff_resumes_on_the_new_owner_after_what_was_left(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given a job that failed once and waits 10 s for its retry on the first worker
    topic = new_topic("handover", partitions=1)
    producer = JobProducer(cluster, topic)
    producer.send_all([email(7, 0)])
    producer.close()
    app = App(f"handover-{topic}")
    ran: list[tuple[int, float]] = []  # (attempt, wall-clock time)

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        ran.append((ctx.attempt, time.time()))
        if ctx.attempt == 1:
            raise Retry(after=RETRY_AFTER)

    settings = worker_settings(cluster, [topic])
    first, second = AsyncExitStack(), AsyncExitStack()
    async with second:
        await first.enter_async_context(running(app, settings))
        await wait_for(lambda: len(ran) == 1, 30, "the first attempt")
        failed_at = ran[0][1]
        # ... and a second worker of the group starting beside it
        taker = await second.enter_async_context(running(app, settings, assigned=False))

        # When, 3 s into the wait, the first worker leaves and the second takes over
        await wait_for(lambda: time.time() >= failed_at + HANDOVER_AFTER, 10, "the wait")
        await first.aclose()
        await wait_for(lambda: taker.engine.assigned == 1, 60, "the second worker's takeover")
        took_over_at = time.time()
        await wait_for(lambda: len(ran) == 2, 60, "the retry")

    # Then the new owner runs it as attempt 2, once the rest of its 10 s has passed: not at
    # once as a new job, and not 10 s after the takeover (3 s or more into the wait) as a
    # fresh backoff would
    (_, _), (attempt, retried_at) = ran
    assert attempt == 2
    assert retried_at >= failed_at + RETRY_AFTER - 0.1
    assert retried_at < max(failed_at + RETRY_AFTER, took_over_at) + 3.0
