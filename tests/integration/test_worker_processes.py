"""Whole worker processes: kill -9, SIGTERM, and a second worker joining and leaving."""

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.support.cluster import Cluster
from tests.support.commits import commits, positions_of_sample_jobs
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer, committed, end_offsets

TOTAL = 3000
KEYS = 100
PARTITIONS = 4
COMMIT_INTERVAL = 0.2  # WorkerProcess's KEEL_WORKER_COMMIT_INTERVAL
# A finished job is in the group's commit at most one commit interval later, plus the commit's
# trip from the event loop through the poll thread to the broker (generous: a loaded CI host).
COMMIT_WINDOW = COMMIT_INTERVAL + 0.5


def publish(cluster: Cluster, topic: str) -> set[tuple[str, int]]:
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % KEYS, n // KEYS) for n in range(TOTAL))
    producer.close()
    return {(str(n % KEYS), n // KEYS) for n in range(TOTAL)}


def finished(output: Path) -> int:
    """How many distinct jobs finished (a rerun counts once)."""
    return len({(key, seq) for key, seq, _pid in lines(output)})


class Progress:
    """How many jobs had finished when: samples of the output file's length over time."""

    def __init__(self, output: Path) -> None:
        self._output = output
        self._samples: list[tuple[float, int]] = []

    def sample(self) -> int:
        count = len(lines(self._output))
        self._samples.append((time.monotonic(), count))
        return count

    def count_before(self, moment: float) -> int:
        """Lines finished by the last sample taken at or before `moment` (a lower bound)."""
        return max((count for at, count in self._samples if at <= moment), default=0)


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
    # Given 3,000 jobs and a worker process that has finished about a third of them, at least
    # a tenth of them more than a commit window ago (jobs of up to 0.1 s: the load lasts seconds)
    topic = new_topic("crash", partitions=PARTITIONS)
    expected = publish(cluster, topic)
    positions = positions_of_sample_jobs(cluster, topic, TOTAL)
    output = tmp_path / "finished"
    group = f"crash-{topic}"
    first = WorkerProcess(cluster, topic, group, output, latency=0.1, max_in_flight="50")
    try:
        progress = Progress(output)
        wait_until(
            lambda: (
                progress.sample() >= TOTAL // 3
                and progress.count_before(time.monotonic() - COMMIT_WINDOW) >= TOTAL // 10
            ),
            90,
            "a third of the jobs",
        )
        # When it is killed with SIGKILL in the middle of the load, just after the group's
        # commit was read
        read_at = time.monotonic()
        commit = commits(cluster, group, topic, PARTITIONS)
        first.kill()
    finally:
        first.stop()
    by_first = [(key, seq) for key, seq, pid in lines(output) if pid == first.process.pid]
    assert len(by_first) < TOTAL
    # And another worker takes over
    second = WorkerProcess(cluster, topic, group, output, max_in_flight="50")
    try:
        wait_until(lambda: {(k, s) for k, s, _ in lines(output)} >= expected, 120, "all jobs")
        assert second.terminate() == 0
    finally:
        second.stop()

    # Then every job finished at least once, in order per key
    runs = Counter((k, s) for k, s, _ in lines(output))
    assert set(runs) == expected
    assert_order_per_key(output)
    # And every job the killed worker finished a commit interval (and the commit's round trip)
    # before the kill was in the group's commit, which the second worker did not run again
    covered = {job for job, (p, offset) in positions.items() if commit[p].covers(offset)}
    settled = by_first[: progress.count_before(read_at - COMMIT_WINDOW)]
    assert set(settled) <= covered, sorted(set(settled) - covered)[:10]
    reruns = {job for job, count in runs.items() if count > 1}
    assert not reruns & covered, sorted(reruns & covered)[:10]
    # So the reruns are bounded by the jobs finished in the last commit window before the kill
    assert max(runs.values()) <= 2
    assert len(reruns) <= len(by_first) - len(settled), (len(reruns), len(by_first), len(settled))


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
