"""Drains that fit the pod, on real worker processes: SIGTERM's whole way out ends within
`shutdown_timeout` however long a job runs, and `/livez` stays 200 through a long revoke drain.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from keel.consumers.runner import LIVENESS_WINDOW
from keel.consumers.shutdown import EXIT_TIMED_OUT
from keel.deploy.local.ports import pick_free_ports
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer

SLOW_APP = "tests.support.slow_apps:app"
KEYS = 50
SLOW_KEYS = 1  # key 0's first job sleeps far longer than any bound here
SHUTDOWN_TIMEOUT = 8.0
# Beyond the bound: the process's exit and the test's own polling, on a loaded host.
EXIT_MARGIN = 7.0
DRAIN = 40.0


def publish(cluster: Cluster, topic: str, total: int) -> None:
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % KEYS, n // KEYS) for n in range(total))
    producer.close()


def started(output: Path) -> list[str]:
    path = output.with_name(output.name + ".started")
    return path.read_text().splitlines() if path.exists() else []


def test_sigterm_mid_load_exits_within_the_shutdown_timeout_and_commits_what_finished(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given a worker process mid-load, one of whose sync jobs sleeps for 300 s
    topic = new_topic("sigterm", partitions=2)
    publish(cluster, topic, 2000)
    output = tmp_path / "finished"
    group = f"sigterm-{topic}"
    slow_env = {"KEEL_TEST_SLOW_KEYS": str(SLOW_KEYS), "KEEL_TEST_SLOW_SECONDS": "300"}
    first = WorkerProcess(
        cluster,
        topic,
        group,
        output,
        latency=0.05,
        env=slow_env,
        target=SLOW_APP,
        shutdown_timeout=str(SHUTDOWN_TIMEOUT),
    )
    try:
        wait_until(lambda: bool(started(output)) and len(lines(output)) >= 300, 60, "the load")

        # When it gets SIGTERM
        sent = time.monotonic()
        code = first.terminate(SHUTDOWN_TIMEOUT + 60)
        took = time.monotonic() - sent
    finally:
        first.stop()
    by_first = {(key, seq) for key, seq, _pid in lines(output)}

    # Then it exits within the bound (its watchdog ends the thread still sleeping), having
    # drained, committed and closed first
    log = first.log.read_text()
    print(f"SIGTERM to exit: {took:.1f}s (shutdown_timeout {SHUTDOWN_TIMEOUT:.0f}s)")  # -rP
    assert took < SHUTDOWN_TIMEOUT + EXIT_MARGIN, f"exit took {took:.1f}s\n{log[-3000:]}"
    assert code == EXIT_TIMED_OUT
    assert "stopped" in log
    assert "shutdown_timeout (8 s) passed" in log

    # And a second worker runs every job left, none the first had finished: all were committed
    second = WorkerProcess(cluster, topic, group, output, env={"KEEL_TEST_SLOW_KEYS": "0"})
    try:
        wait_until(lambda: len({(k, s) for k, s, _ in lines(output)}) == 2000, 60, "every job")
    finally:
        second.stop()
    by_second = [(key, seq) for key, seq, pid in lines(output) if pid == second.process.pid]
    assert by_first.isdisjoint(by_second)
    assert ("0", 0) in by_second  # the slow job, cut short, ran again


def test_livez_answers_200_throughout_a_revoke_drain_longer_than_the_liveness_window(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given a worker with two partitions, each running jobs that outlast a 40 s drain
    topic = new_topic("livez", partitions=2)
    publish(cluster, topic, 200)
    output = tmp_path / "finished"
    group = f"livez-{topic}"
    (port,) = pick_free_ports(1)
    # 16 slow keys: both partitions hold some (all on one: a 1 in 32,768 chance)
    slow = {"KEEL_TEST_SLOW_KEYS": "16", "KEEL_TEST_SLOW_SECONDS": "300"}
    first = WorkerProcess(
        cluster,
        topic,
        group,
        output,
        env=slow,
        target=SLOW_APP,
        health_port=str(port),
        drain_timeout=str(DRAIN),
        sync_threads="32",
    )
    second: WorkerProcess | None = None
    try:
        wait_until(lambda: len(started(output)) >= 16, 60, "the slow jobs to start")

        # When a second worker joins and the first must drain the partition it gives up
        second = WorkerProcess(cluster, topic, group, output, env=slow, target=SLOW_APP)
        wait_until(lambda: "draining" in first.log.read_text(), 60, "the revoke drain")
        began = time.monotonic()
        answers: list[int] = []
        while "revoked" not in first.log.read_text():
            answers.append(_livez(port))
            assert time.monotonic() - began < DRAIN + 30, "the drain outlasted its bound"
            time.sleep(0.5)
        lasted = time.monotonic() - began
    finally:
        first.stop()
        if second is not None:
            second.stop()

    # Then the drain lasted longer than /livez would have allowed before (the heartbeat was
    # renewed only between polls), and /livez said 200 every time it was asked
    print(f"revoke drain observed for {lasted:.1f}s, /livez asked {len(answers)} times")  # -rP
    assert lasted > 2 * LIVENESS_WINDOW, f"the drain took only {lasted:.1f}s"
    assert answers.count(200) == len(answers), answers


def _livez(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5) as response:
            json.load(response)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
