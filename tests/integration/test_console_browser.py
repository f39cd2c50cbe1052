"""The operator console in a real headless Chromium, against the real broker.

A worker process with a bug dead-letters a job; `keel console` runs as its own process; the
browser signs in, finds the dead letter by its topic, reads its decoded body, replays it
through the confirmation, and sees the fixed worker finish it. A read-only token's replay is
refused and writes nothing. Each step's screenshot is kept under test-artifacts/screenshots/.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keel.consumers.dead_letters.ledger import ReplayLedger
from keel.schemas.topics import dead_letter_topic
from tests.support.browser import Page
from tests.support.cluster import Cluster
from tests.support.console import OPERATOR, READER, ConsoleProcess
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer, end_offsets

BROKEN = "broken"  # the template the buggy worker rejects (tests/support/apps.py)
KEY = 7


@pytest.fixture(scope="module")
def console(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    started = ConsoleProcess(cluster, tmp_path_factory.mktemp("console") / "console.log")
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def dead_letters_of(cluster: Cluster, topic: str) -> int:
    return end_offsets(cluster, dead_letter_topic(topic), 1)[0]


def replayed(cluster: Cluster, topic: str) -> int:
    return len(ReplayLedger.read(cluster.settings(), dead_letter_topic(topic)))


def dead_letter_one_job(cluster: Cluster, topic: str, group: str, output: Path) -> None:
    """Three jobs of three keys, the middle one with the rejected template: a buggy worker
    runs the other two and dead-letters it, then stops with everything committed."""
    producer = JobProducer(cluster, topic)
    for key in (KEY - 1, KEY, KEY + 1):
        job, key_bytes = email(key, 1)
        producer.send(job.model_copy(update={"template": BROKEN}) if key == KEY else job, key_bytes)
    producer.close()
    buggy = WorkerProcess(cluster, topic, group, output, env={"KEEL_TEST_REJECT": BROKEN})
    try:
        wait_until(lambda: len(lines(output)) == 2, 90, "the two good jobs")
        wait_until(lambda: _has_dead_letters(cluster, topic), 30, "the dead letter")
        assert buggy.terminate() == 0
    finally:
        buggy.stop()


def _has_dead_letters(cluster: Cluster, topic: str) -> bool:
    try:
        return dead_letters_of(cluster, topic) == 1
    except Exception:  # noqa: BLE001 - the worker has not created the dead-letter topic yet
        return False


def sign_in(page: Page, console: ConsoleProcess, role: str) -> None:
    page.open(f"{console.url}/login")
    page.fill("input[name=token]", console.tokens[role])
    page.shot(f"login as {role}")
    page.click("button[type=submit]")
    page.find("nav")


def find_the_dead_letter(page: Page, console: ConsoleProcess, topic: str) -> None:
    page.open(f"{console.url}/dead-letters?topic={topic}")
    rows = page.all("#dead-letters tr.dead-letter")
    assert len(rows) == 1, page.body()
    page.shot("dead letters of the topic")


def test_an_operator_finds_a_dead_letter_replays_it_and_sees_the_fixed_worker_finish_it(
    cluster: Cluster,
    new_topic: Callable[..., str],
    console: ConsoleProcess,
    page: Page,
    tmp_path: Path,
) -> None:
    # Given a job dead-lettered by a worker with a bug, and the fixed worker running
    topic = new_topic("console-replay", partitions=1)
    group, output = f"console-{topic}", tmp_path / "finished"
    dead_letter_one_job(cluster, topic, group, output)
    fixed = WorkerProcess(cluster, topic, group, output)
    try:
        # When an operator signs in, finds the dead letter by its topic and opens it
        sign_in(page, console, OPERATOR)
        find_the_dead_letter(page, console, topic)
        page.click("#dead-letters tr.dead-letter a")
        body = page.text("#record-body")
        assert BROKEN in body and f'"seq": "2"' in body.replace("'", '"'), body
        page.shot("the record and its decoded body")

        # And replays it through the confirmation
        page.click("#replay")
        page.find("#confirm-replay")
        page.shot("the confirmation")
        page.click("#confirm-replay")
        assert "1" in page.text("#replay-result")
        page.shot("the replay's result")

        # Then the fixed worker runs job 2, and the group's page shows no lag left
        wait_until(lambda: (str(KEY), 2) in {(k, s) for k, s, _ in lines(output)}, 90, "job 2")
        page.open(f"{console.url}/groups/{group}")
        # TODO: lag element
        page.shot("the group with no lag")
    finally:
        fixed.stop()
    assert replayed(cluster, topic) == 1


def test_a_read_only_token_is_refused_a_replay_and_nothing_is_written(
    cluster: Cluster,
    new_topic: Callable[..., str],
    console: ConsoleProcess,
    page: Page,
    tmp_path: Path,
) -> None:
    # Given a dead-lettered job
    topic = new_topic("console-refused", partitions=1)
    group, output = f"console-{topic}", tmp_path / "finished"
    dead_letter_one_job(cluster, topic, group, output)
    jobs_before = end_offsets(cluster, topic, 1)[0]

    # When a read-only user signs in and asks to replay it
    sign_in(page, console, READER)
    find_the_dead_letter(page, console, topic)
    # TODO: replay attempt

    # Then the console refuses with 403, and nothing reached the job topic or the ledger
    assert end_offsets(cluster, topic, 1)[0] == jobs_before
    assert replayed(cluster, topic) == 0
