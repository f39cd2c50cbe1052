"""`keel worker --processes 2`: two worker processes in one group, under one supervisor."""

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from keel.consumers.supervisor import CLOSE_MARGIN_S, free_port
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer, committed, end_offsets

TOTAL = 2000
KEYS = 100
PARTITIONS = 4
SHUTDOWN_TIMEOUT = 10.0
# Slow jobs, few at a time (about 100 jobs/s per process): the load outlasts a kill, a restart
# and the rebalance that follows it.
LATENCY = 0.1
MAX_IN_FLIGHT = "5"


def publish(cluster: Cluster, topic: str) -> set[tuple[str, int]]:
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % KEYS, n // KEYS) for n in range(TOTAL))
    producer.close()
    return {(str(n % KEYS), n // KEYS) for n in range(TOTAL)}


def pids(output: Path) -> set[int]:
    """The processes that finished at least one job."""
    return {pid for *_, pid in lines(output)}


def finished(output: Path) -> int:
    return len({(key, seq) for key, seq, _pid in lines(output)})


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_order_per_key(output: Path) -> None:
    """Each key's first runs come in sequence order (a rerun may repeat a tail, never skip)."""
    firsts: dict[str, list[int]] = {}
    seen: set[tuple[str, int]] = set()
    for key, seq, _pid in lines(output):
        if (key, seq) not in seen:
            seen.add((key, seq))
            firsts.setdefault(key, []).append(seq)
    assert all(seqs == sorted(seqs) for seqs in firsts.values())


def pod_answer(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def pod_ready(port: int) -> bool:
    answer = pod_answer(port, "/readyz")
    return answer is not None and answer.status_code == httpx.codes.OK


def children_with_partitions(port: int) -> list[dict[str, object]]:
    """The pod's children as its `/readyz` shows them, when each of them holds partitions."""
    answer = pod_answer(port, "/readyz")
    if answer is None or answer.status_code != httpx.codes.OK:
        return []
    children: list[dict[str, object]] = answer.json()["children"]
    return children if all(int(str(c["partitions"])) >= 1 for c in children) else []


def test_two_processes_share_the_group_and_a_killed_one_comes_back_losing_nothing(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given 2,000 jobs and `keel worker --processes 2` with the pod's health on one port
    topic = new_topic("supervised", partitions=PARTITIONS)
    expected = publish(cluster, topic)
    output = tmp_path / "finished"
    port = free_port()
    pod = WorkerProcess(
        cluster,
        topic,
        f"sup-{topic}",
        output,
        args=("--processes", "2"),
        latency=LATENCY,
        health_port=str(port),
        max_in_flight=MAX_IN_FLIGHT,
        shutdown_timeout=str(SHUTDOWN_TIMEOUT),
    )
    try:
        # When both children are working (each has partitions: each finishes jobs)
        wait_until(
            lambda: len(pids(output)) == 2 and bool(children_with_partitions(port)),
            90,
            "two busy processes, each with partitions",
        )
        children = children_with_partitions(port)
        assert sorted(int(str(c["child"])) for c in children) == [0, 1]
        assert pids(output) == {c["pid"] for c in children}
        # And one of them is killed with SIGKILL mid-load
        victim = int(str(children[0]["pid"]))
        os.kill(victim, signal.SIGKILL)
        assert finished(output) < TOTAL

        # Then the supervisor starts it again: a new process finishes jobs, the pod is ready
        wait_until(lambda: len(pids(output) - {victim}) == 2, 90, "the restarted process")
        wait_until(lambda: finished(output) >= TOTAL, 120, "all jobs")
        wait_until(lambda: pod_ready(port), 30, "the pod ready again")
        metrics = pod_answer(port, "/metrics")
        assert metrics is not None
        assert 'keel_worker_child_restarts_total{child="0"} 1.0' in metrics.text
        assert 'keel_jobs_processed_total{child="1",job_type="keel.jobs.SendEmail"}' in metrics.text
        assert pod.terminate() == 0
    finally:
        pod.stop()

    # And nothing was lost, every key kept its order, and the logs say which child wrote them
    runs = Counter((k, s) for k, s, _ in lines(output))
    assert set(runs) == expected
    assert_order_per_key(output)
    log = pod.log.read_text()
    assert "[child 0]" in log
    assert "[child 1]" in log


def test_sigterm_drains_every_process_within_the_bound_and_commits(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given `keel worker --processes 2` in the middle of the load, both children busy
    topic = new_topic("supervised-stop", partitions=PARTITIONS)
    expected = publish(cluster, topic)
    output = tmp_path / "finished"
    group = f"sup-stop-{topic}"
    pod = WorkerProcess(
        cluster,
        topic,
        group,
        output,
        args=("--processes", "2"),
        latency=LATENCY,
        max_in_flight=MAX_IN_FLIGHT,
        shutdown_timeout=str(SHUTDOWN_TIMEOUT),
    )
    try:
        wait_until(lambda: len(pids(output)) == 2, 90, "two busy processes")
        children = pids(output)
        # When the parent gets SIGTERM
        asked = time.monotonic()
        assert pod.terminate(timeout=SHUTDOWN_TIMEOUT + CLOSE_MARGIN_S) == 0
        took = time.monotonic() - asked
    finally:
        pod.stop()
    # Then every child has exited, within the worker's shutdown bound, with the load unfinished
    assert not any(running(pid) for pid in children)
    assert took < SHUTDOWN_TIMEOUT + CLOSE_MARGIN_S
    assert finished(output) < TOTAL

    # And what they finished was committed: a worker started afterwards runs only the rest
    single = WorkerProcess(cluster, topic, group, output, max_in_flight="50")
    try:
        wait_until(lambda: finished(output) >= TOTAL, 120, "all jobs")
        ends = end_offsets(cluster, topic, PARTITIONS)
        wait_until(lambda: committed(cluster, group, topic, PARTITIONS) == ends, 30, "commits")
        assert single.terminate() == 0
    finally:
        single.stop()
    runs = Counter((k, s) for k, s, _ in lines(output))
    assert set(runs) == expected
    assert max(runs.values()) == 1
    assert_order_per_key(output)
