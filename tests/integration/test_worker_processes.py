"""Whole worker processes: kill -9, SIGTERM, and a second worker joining and leaving."""

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer, committed, end_offsets

TOTAL = 3000
KEYS = 100
PARTITIONS = 4


def publish(cluster: Cluster, topic: str) -> set[tuple[str, int]]:
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % KEYS, n // KEYS) for n in range(TOTAL))
    producer.close()
    return {(str(n % KEYS), n // KEYS) for n in range(TOTAL)}


def finished(output: Path) -> int:
    """How many distinct jobs finished (a rerun counts once)."""
    return len({(key, seq) for key, seq, _pid in lines(output)})


def assert_order_per_key(output: Path) -> None:
    """Each key's first runs come in sequence order (a rerun may repeat a tail, never skip)."""
    firsts: dict[str, list[int]] = {}
    seen: set[tuple[str, int]] = set()
    for key, seq, _pid in lines(output):
        if (key, seq) not in seen:
            seen.add((key, seq))
            firsts.setdefault(key, []).append(seq)
    assert all(seqs == sorted(seqs) for seqs in firsts.values())


def test_kill_9_mid_load_loses_nothing_and_duplicates_stay_bounded(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given 3,000 jobs and a worker process that has finished about a third of them
    topic = new_topic("crash", partitions=PARTITIONS)
    expected = publish(cluster, topic)
    output = tmp_path / "finished"
    group = f"crash-{topic}"
    first = WorkerProcess(cluster, topic, group, output, max_in_flight="50")
    try:
        wait_until(lambda: finished(output) >= TOTAL // 3, 90, "a third of the jobs")
        started = time.monotonic()
        before = finished(output)
        wait_until(lambda: finished(output) >= before + 100, 30, "a rate sample")
        rate = (finished(output) - before) / (time.monotonic() - started)
        # When it is killed with SIGKILL in the middle of the load
        first.kill()
    finally:
        first.stop()
    done_by_first = finished(output)
    assert done_by_first < TOTAL
    # And another worker takes over
    second = WorkerProcess(cluster, topic, group, output, max_in_flight="50")
    try:
        wait_until(lambda: {(k, s) for k, s, _ in lines(output)} >= expected, 120, "all jobs")
        assert second.terminate() == 0
    finally:
        second.stop()

    # Then every job finished at least once, in order per key, and the reruns are bounded by
    # what the killed worker had in flight (100 accepted) plus one commit interval of finishes
    runs = Counter((k, s) for k, s, _ in lines(output))
    assert set(runs) == expected
    duplicates = sum(runs.values()) - len(expected)
    assert duplicates <= 100 + rate * 0.2 * 2, (duplicates, rate)
    assert_order_per_key(output)


def test_sigterm_mid_load_then_restart_loses_nothing_and_repeats_nothing(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given a worker process in the middle of 3,000 jobs
    topic = new_topic("sigterm", partitions=PARTITIONS)
    expected = publish(cluster, topic)
    output = tmp_path / "finished"
    group = f"sigterm-{topic}"
    first = WorkerProcess(cluster, topic, group, output, max_in_flight="50")
    try:
        wait_until(lambda: finished(output) >= TOTAL // 3, 90, "a third of the jobs")
        # When it gets SIGTERM: running jobs finish, offsets and finished-above are committed
        assert first.terminate() == 0
    finally:
        first.stop()
    assert finished(output) < TOTAL
    second = WorkerProcess(cluster, topic, group, output, max_in_flight="50")
    try:
        wait_until(lambda: finished(output) >= TOTAL, 120, "all jobs")
        ends = end_offsets(cluster, topic, PARTITIONS)
        wait_until(lambda: committed(cluster, group, topic, PARTITIONS) == ends, 30, "commits")
        assert second.terminate() == 0
    finally:
        second.stop()

    # Then after the restart every job ran exactly once
    runs = Counter((k, s) for k, s, _ in lines(output))
    assert set(runs) == expected
    assert max(runs.values()) == 1
    assert_order_per_key(output)


def test_a_worker_joining_and_leaving_mid_load_loses_nothing_and_keeps_order(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given one worker in the middle of the load
    topic = new_topic("rebalance", partitions=PARTITIONS)
    expected = publish(cluster, topic)
    output = tmp_path / "finished"
    group = f"rebalance-{topic}"
    # (slow jobs, few at a time: the load must outlast two cooperative rebalances)
    first = WorkerProcess(cluster, topic, group, output, latency=0.04, max_in_flight="5")
    second: WorkerProcess | None = None
    try:
        wait_until(lambda: finished(output) >= 300, 90, "a tenth of the jobs")
        # When a second worker joins, takes partitions over, works, and leaves again
        second = WorkerProcess(cluster, topic, group, output, latency=0.04, max_in_flight="5")
        pid = second.process.pid
        wait_until(
            lambda: sum(1 for *_, p in lines(output) if p == pid) >= 50, 90, "the second worker"
        )
        assert second.terminate() == 0
        assert finished(output) < TOTAL  # the first worker takes the partitions back mid-load
        wait_until(lambda: finished(output) >= TOTAL, 120, "all jobs")
        assert first.terminate() == 0
    finally:
        first.stop()
        if second is not None:
            second.stop()

    # Then nothing was lost, nothing ran twice (revoked partitions drained before committing),
    # and every key kept its order across both hand-overs
    runs = Counter((k, s) for k, s, _ in lines(output))
    assert set(runs) == expected
    assert max(runs.values()) == 1
    assert_order_per_key(output)
    assert len({pid for *_, pid in lines(output)}) == 2
