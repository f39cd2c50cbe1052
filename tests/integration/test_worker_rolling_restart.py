"""A rolling restart of static members: the way pods are redeployed.

Two workers join as static members (`group.instance.id`, as a StatefulSet gives each pod). Each
in turn is stopped with SIGTERM and started again under the same member id while jobs flow.
A static member that leaves does not trigger a rebalance, and one that comes back within the
session timeout gets its own partitions back, so the other member keeps its partitions
throughout: its log shows one assignment and no revocation.
"""

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.integration.test_worker_processes import finished, publish
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.waiting import wait_until

TOTAL = 3000
_ASSIGNED = re.compile(r"\bassigned (?!nothing)\S")  # a cooperative round may assign nothing
_REVOKED = re.compile(r"\brevoked \S")


def _member(cluster: Cluster, topic: str, group: str, output: Path, member: str) -> WorkerProcess:
    return WorkerProcess(
        cluster,
        topic,
        group,
        output,
        latency=0.2,
        max_in_flight="8",
        group_instance_id=member,
        session_timeout_ms="20000",
    )


def _assignment_changes(worker: WorkerProcess) -> tuple[int, int]:
    log = worker.log.read_text(errors="replace")
    return len(_ASSIGNED.findall(log)), len(_REVOKED.findall(log))


def _owns_partitions(worker: WorkerProcess) -> bool:
    return _assignment_changes(worker)[0] >= 1


def test_rolling_restart_of_static_members_keeps_the_others_partitions(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given two static members sharing a 4-partition topic and a backlog that takes a while
    topic = new_topic("rolling", partitions=4)
    group = f"rolling-{topic}"
    output = tmp_path / "finished"
    a = _member(cluster, topic, group, output, "member-a")
    b = _member(cluster, topic, group, output, "member-b")
    restarted: list[WorkerProcess] = []
    try:
        wait_until(lambda: _owns_partitions(a) and _owns_partitions(b), 60, "a stable group")
        expected = publish(cluster, topic)
        wait_until(lambda: finished(output) >= 200, 60, "jobs to flow")
        b_before = _assignment_changes(b)

        # When member A is stopped gracefully and started again under its member id
        assert a.terminate() == 0
        a_again = _member(cluster, topic, group, output, "member-a")
        restarted.append(a_again)
        wait_until(lambda: _owns_partitions(a_again), 60, "member A to get its partitions back")
        wait_until(lambda: finished(output) >= 600, 60, "jobs to flow after A")
        # Then B was neither revoked nor reassigned while A was away
        assert _assignment_changes(b) == b_before
        a_before = _assignment_changes(a_again)

        # When member B does the same
        assert b.terminate() == 0
        b_again = _member(cluster, topic, group, output, "member-b")
        restarted.append(b_again)
        wait_until(lambda: _owns_partitions(b_again), 60, "member B to get its partitions back")
        # Then A's second life saw no change either, and each came back in one assignment
        assert _assignment_changes(a_again) == a_before == (1, 0)
        assert _assignment_changes(b_again) == (1, 0)

        # And every job ran, exactly once (each stop drained and committed)
        wait_until(lambda: finished(output) >= TOTAL, 180, "every job")
        runs = Counter((key, seq) for key, seq, _pid in lines(output))
        assert set(runs) == expected
        assert max(runs.values()) == 1
    finally:
        for worker in (a, b, *restarted):
            worker.stop()
