"""Worker heartbeats on the real broker: who runs what, as `keel workers` and the console see it."""

from collections.abc import Callable
from pathlib import Path

from keel.consumers.beats import WorkerView, read_workers
from keel.schemas.beats import BeatSettings
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer

PARTITIONS = 4
INTERVAL = 0.5  # seconds between beats; gone after 3 of them


def beats_env(topic: str) -> dict[str, str]:
    return {"KEEL_BEATS_TOPIC": topic, "KEEL_BEATS_INTERVAL": str(INTERVAL)}


def publish(cluster: Cluster, topic: str, first: int, count: int) -> None:
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % 40, n // 40) for n in range(first, first + count))
    producer.close()


def processed(views: list[WorkerView]) -> int:
    return sum(view.beat.now.counts["processed"] for view in views)


def test_two_processes_show_their_partitions_and_counts_and_leave_on_sigterm(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given `keel worker --processes 2` on a topic of four partitions
    topic = new_topic("beats", partitions=PARTITIONS)
    settings = BeatSettings(topic=f"{topic}.workers", interval=INTERVAL)
    group = f"beats-{topic}"
    output = tmp_path / "finished"
    pod = WorkerProcess(
        cluster, topic, group, output, env=beats_env(settings.topic), args=["--processes", "2"]
    )

    def workers() -> list[WorkerView]:
        return read_workers(cluster.settings(), group, settings=settings)

    try:
        # When 200 jobs are published, then 200 more
        publish(cluster, topic, 0, 200)
        wait_until(lambda: processed(workers()) == 200, 90, "200 jobs in the beats")
        publish(cluster, topic, 200, 200)
        wait_until(lambda: processed(workers()) == 400, 90, "400 jobs in the beats")

        def settled() -> list[WorkerView] | None:
            """Both children's beats, once each owns some partitions and none runs a job."""
            views = workers()
            owned = sorted(p for v in views for _, p in v.beat.partitions)
            idle = all(v.beat.partitions and v.beat.running == 0 for v in views)
            return views if owned == [0, 1, 2, 3] and idle else None

        wait_until(lambda: settled() is not None, 60, "every partition owned once, all idle")
        # Then both children beat, live, with the jobs each finished and the partitions it owns
        seen = settled() or workers()
        assert len(seen) == 2
        assert {view.beat.worker.child for view in seen} == {0, 1}
        assert {view.state for view in seen} == {"live"}
        by_pid = {view.beat.worker.pid: view.beat.now.counts["processed"] for view in seen}
        finished = [pid for *_, pid in lines(output)]
        assert by_pid == {pid: finished.count(pid) for pid in by_pid}
        assert all(view.beat.partitions and view.beat.running == 0 for view in seen)
        # And a worker of another group is not listed with them
        assert read_workers(cluster.settings(), "no-such-group", settings=settings) == []
        # When the pod gets SIGTERM, then its workers leave the list at once (tombstones)
        assert pod.terminate() == 0
        assert workers() == []
    finally:
        pod.stop()


def test_a_killed_worker_is_shown_gone_after_three_silent_intervals(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given a worker that beats
    topic = new_topic("beats-kill", partitions=2)
    settings = BeatSettings(topic=f"{topic}.workers", interval=INTERVAL)
    group = f"beats-kill-{topic}"
    worker = WorkerProcess(cluster, topic, group, tmp_path / "out", env=beats_env(settings.topic))

    def workers() -> list[WorkerView]:
        return read_workers(cluster.settings(), group, settings=settings)

    try:
        wait_until(lambda: [v.state for v in workers()] == ["live"], 60, "a live worker")
        assert workers()[0].beat.worker.pid == worker.process.pid
        # When it is killed with SIGKILL (no tombstone)
        worker.kill()
    finally:
        worker.stop()
    # Then it is still listed, as gone, once its last beat is older than three intervals
    wait_until(lambda: [v.state for v in workers()] == ["gone"], 30, "the worker gone")
    [gone] = workers()
    assert gone.age > settings.gone_after * INTERVAL
    assert gone.beat.worker.pid == worker.process.pid
