"""The console's workers panel on a group's page, fed by real workers' heartbeats."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from keel.consumers.console import ConsoleSettings, create_app
from keel.schemas.beats import BeatSettings
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer

READER = "reader-token-0123456789"
JOBS = 120
ROW = re.compile(r'<tr class="worker (live|gone)" data-worker="([^"]+)" data-pid="(\d+)"')


def test_a_groups_page_shows_each_worker_with_its_partitions_counts_and_rates(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given two worker processes of one group beating to their own topic every 0.3 s
    topic = new_topic("console-beats", partitions=4)
    beats = BeatSettings(topic=f"{topic}.workers", interval=0.3)
    group = f"console-beats-{topic}"
    output = tmp_path / "finished"
    env = {"KEEL_BEATS_TOPIC": beats.topic, "KEEL_BEATS_INTERVAL": str(beats.interval)}
    pod = WorkerProcess(cluster, topic, group, output, env=env, args=["--processes", "2"])
    settings = ConsoleSettings(tokens={"bob": {"token": READER, "role": "read"}})
    headers = {"Authorization": f"Bearer {READER}", "Accept": "text/html"}
    try:
        with TestClient(create_app(settings, cluster.settings(), beats=beats)) as console:

            def workers() -> list[dict[str, Any]]:
                found = console.get(f"/api/groups/{group}", headers=headers).json()["workers"]
                return list(found)

            # When they finish jobs
            producer = JobProducer(cluster, topic)
            producer.send_all(email(n % 20, n // 20) for n in range(JOBS))
            producer.close()
            wait_until(lambda: len(lines(output)) == JOBS, 90, "every job to finish")
            wait_until(
                lambda: (
                    sum(w["counts"]["processed"] for w in workers()) == JOBS
                    and sum(len(w["partitions"]) for w in workers()) == 4
                ),
                60,
                "the beats to count every job and partition",
            )
            page = console.get(f"/groups/{group}", headers=headers)
            shown = workers()
        assert pod.terminate() == 0
    finally:
        pod.stop()

    # Then the page has a row per worker process, live, and the JSON its partitions and counts
    assert page.status_code == 200
    rows = ROW.findall(page.text)
    assert sorted(int(pid) for _, _, pid in rows) == sorted(int(w["pid"]) for w in shown)
    assert [state for state, _, _ in rows] == ["live", "live"]
    finished = [pid for *_, pid in lines(output)]
    for worker in shown:
        assert worker["counts"]["processed"] == finished.count(worker["pid"])
        assert set(worker["rates"]) >= {"processed", "failed", "retried", "dead_lettered"}
    assert f"{topic}[" in page.text
