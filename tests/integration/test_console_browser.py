"""The operator console in a real headless Chromium, against the real broker.

A worker process with a bug dead-letters a job; `keel console` runs as its own process; the
browser signs in, finds the dead letter by its topic, reads its decoded body, replays it
through the confirmation, and sees the fixed worker finish it on the job's status page (looked
up by the id the dead letter's headers show). A read-only token's replay is
refused and writes nothing. Each step's screenshot is kept under test-artifacts/screenshots/.
"""

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from selenium.webdriver.common.by import By

from keel.consumers.dead_letters.ledger import ReplayLedger
from keel.producers import Publisher
from keel.producers.delayed.loop import ensure_delayed_topics
from keel.producers.settings import ProducerSettings, Route
from keel.schemas.headers import JOB_ID
from keel.schemas.topics import dead_letter_topic
from tests.support.browser import Page
from tests.support.cluster import Cluster
from tests.support.console import OPERATOR, READER, ConsoleProcess
from tests.support.jobs import send_email
from tests.support.processes import WorkerProcess, lines
from tests.support.sample import email
from tests.support.topics import unique_name
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer, end_offsets

BROKEN = "broken"  # the template the buggy worker rejects (tests/support/apps.py)
KEY = 7
JOBS = 3  # published first, one of them dead-lettered
REPLAYED_AT = JOBS  # the offset the replayed job is written at


@pytest.fixture(scope="module")
def console(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    log = tmp_path_factory.mktemp("console") / "console.log"
    started = ConsoleProcess(
        cluster,
        log,
        delayed_topic=unique_name("console-delayed"),
        status_topic=unique_name("console-status"),
    )
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def dead_letters_of(cluster: Cluster, topic: str) -> int:
    return end_offsets(cluster, dead_letter_topic(topic), 1)[0]


def replayed(cluster: Cluster, topic: str) -> int:
    return len(ReplayLedger.read(cluster.settings(), dead_letter_topic(topic)))


def tracking(console: ConsoleProcess) -> dict[str, str]:
    """A worker's variables to write every job's status where the console looks them up."""
    return {"KEEL_STATUS_TRACK": '["*"]', "KEEL_STATUS_TOPIC": console.status_topic}


def dead_letter_one_job(
    cluster: Cluster, topic: str, group: str, output: Path, env: dict[str, str] | None = None
) -> None:
    """Three jobs of three keys, the middle one with the rejected template: a buggy worker
    (with `env` laid over its variables) runs the other two and dead-letters it, then stops
    with everything committed."""
    producer = JobProducer(cluster, topic)
    for key in (KEY - 1, KEY, KEY + 1):
        job, key_bytes = email(key, 1)
        producer.send(job.model_copy(update={"template": BROKEN}) if key == KEY else job, key_bytes)
    producer.close()
    buggy = WorkerProcess(
        cluster, topic, group, output, env={"KEEL_TEST_REJECT": BROKEN, **(env or {})}
    )
    try:
        wait_until(lambda: len(lines(output)) == 2, 90, "the two good jobs")
        wait_until(lambda: _has_dead_letters(cluster, topic), 30, "the dead letter")
        assert buggy.terminate() == 0
    finally:
        buggy.stop()


def _has_dead_letters(cluster: Cluster, topic: str) -> bool:
    try:
        return dead_letters_of(cluster, topic) == 1
    except KafkaException:  # the worker has not created the dead-letter topic yet
        return False


def sign_in(page: Page, console: ConsoleProcess, role: str, doc: str | None = None) -> None:
    """The login form sets the console's cookie and leads to the groups page."""
    page.open(f"{console.url}/login")
    page.fill("#token", console.tokens[role])
    page.shot(f"sign in as {role}", doc)
    page.click("#sign-in")
    assert page.text("#principal") == f"{role}-user ({role})"


def find_the_dead_letter(
    page: Page, console: ConsoleProcess, topic: str, doc: str | None = None
) -> None:
    """The list filtered by the topic's dead-letter topic shows its one dead letter."""
    page.open(f"{console.url}/dead-letters")
    page.choose("#filter-topic", dead_letter_topic(topic))
    page.click("#apply-filters")
    page.find(f"#dead-letters tr.dead-letter[data-topic='{dead_letter_topic(topic)}']")
    assert len(page.all("#dead-letters tr.dead-letter")) == 1, page.body()
    page.shot("the dead letters of the topic", doc)


def open_the_dead_letter(page: Page, doc: str | None = None) -> str:
    """Its page shows the reason and the job decoded by its schema: the rejected template.
    Returns the job's id, from the record's headers."""
    page.click("#dead-letters tr.dead-letter a")
    assert page.text("#record-reason") == f"rejected: template {BROKEN} is broken"
    assert page.text("#record-body-format").startswith("avro")
    job = json.loads(page.text("#record-body"))
    assert (job["template"], job["params"]["key"]) == (BROKEN, str(KEY))
    page.shot("the record with its decoded body", doc)
    [job_id] = [
        cells[1].text
        for row in page.all("#record-headers tr.header")
        if (cells := row.find_elements(By.CSS_SELECTOR, "td"))[0].text == JOB_ID
    ]
    page.back()
    return job_id


def look_up_the_job(page: Page, job_id: str) -> None:
    """The lookup field in every page's header leads to the job's status page."""
    page.fill("#nav-job-id", f"{job_id}\n")
    assert page.text("#job-id") == job_id


def wait_for_job_state(page: Page, console: ConsoleProcess, job_id: str, state: str) -> None:
    """Reload the job's status page until it says `state`: a worker sends its statuses in
    batches, off the job's path, so the page trails the job by a moment."""
    url = f"{console.url}/jobs/{job_id}"

    def shows_state() -> bool:
        page.open(url)
        return page.text("#job-state") == state

    wait_until(shows_state, 60, f"{url} saying {state}")


def wait_for_commit_past(page: Page, console: ConsoleProcess, group: str, offset: int) -> None:
    """Reload the group's page until partition 0's committed offset is past `offset`.

    Past, not at `offset + 1`: the replay is written in a transaction, with its key's resume
    marker after the job when nothing was parked behind it, so the worker's commit can pass
    the marker too. Its lag does not reach 0: the transaction's commit marker takes the last
    offset, and the worker commits the offset after the last record it read, short of it.
    """
    url = f"{console.url}/groups/{group}"

    def committed_past() -> bool:
        page.open(url)
        committed = page.text("#lag tr.partition[data-partition='0'] td.committed")
        return committed.isdigit() and int(committed) > offset

    wait_until(committed_past, 60, f"a commit past offset {offset} on {url}")


def test_an_operator_finds_a_dead_letter_replays_it_and_sees_the_fixed_worker_finish_it(
    cluster: Cluster,
    new_topic: Callable[..., str],
    console: ConsoleProcess,
    page: Page,
    tmp_path: Path,
) -> None:
    # Given a job dead-lettered by a worker with a bug, and the fixed worker running, both
    # writing every job's status
    topic = new_topic("console-replay", partitions=1)
    group, output = f"console-{topic}", tmp_path / "finished"
    dead_letter_one_job(cluster, topic, group, output, tracking(console))
    assert end_offsets(cluster, topic, 1)[0] == REPLAYED_AT
    fixed = WorkerProcess(cluster, topic, group, output, env=tracking(console))
    try:
        # When an operator signs in, finds the dead letter by its topic and opens it
        sign_in(page, console, OPERATOR)
        find_the_dead_letter(page, console, topic)
        job_id = open_the_dead_letter(page)

        # And looks its job up: dead-lettered, with the reason
        look_up_the_job(page, job_id)
        wait_for_job_state(page, console, job_id, "dead_lettered")
        assert page.text("#job-reason").startswith("rejected")
        page.shot("the job dead-lettered")
        find_the_dead_letter(page, console, topic)

        # And replays the topic's dead letters, confirming the count the console shows
        page.click("#replay")
        assert page.find("#replay-count").get_attribute("data-count") == "1"
        page.shot("the confirmation", "replay-confirm")
        page.click("#confirm-replay")
        assert page.find("#replay-result").get_attribute("data-replayed") == "1"
        page.shot("the replay's result", "replay-result")

        # Then the job's status page says the fixed worker finished it
        wait_for_job_state(page, console, job_id, "done")
        assert page.text("#job-worker")
        assert page.text("#job-finished")
        page.shot("the replayed job done", "job")
        assert str(KEY) in {key for key, _, _ in lines(output)}
        # And the group's page shows its offset committed
        wait_for_commit_past(page, console, group, REPLAYED_AT)
        page.shot("the group committed past the replayed job")
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

    # When a read-only user signs in, finds it, and asks to replay it
    sign_in(page, console, READER)
    find_the_dead_letter(page, console, topic)
    page.click("#replay")

    # Then the console answers 403, and nothing reached the job topic or the ledger
    assert page.text("h1") == "403", page.body()
    assert "operator" in page.text("#problem")
    page.shot("a read-only replay refused", "replay-refused")
    assert end_offsets(cluster, topic, 1)[0] == JOBS
    assert replayed(cluster, topic) == 0


def publish_delayed(cluster: Cluster, topic: str, delayed: str) -> set[str]:
    """Two jobs for `topic` due in two hours and in a day; their job ids."""
    settings = ProducerSettings(
        routes={"keel.jobs.SendEmail": Route(topic=topic, partitions=1)}, delayed_topic=delayed
    )
    ensure_delayed_topics(cluster.settings(), settings)
    with Publisher(cluster.settings(), settings) as publisher:
        due = (timedelta(hours=2), timedelta(days=1))
        return {
            publisher.publish(send_email(), f"user-{n}", delay=d).job_id for n, d in enumerate(due)
        }


def test_every_page_shows_a_reader_the_cluster_as_it_is(
    cluster: Cluster,
    new_topic: Callable[..., str],
    console: ConsoleProcess,
    page: Page,
    tmp_path: Path,
) -> None:
    # Given a job dead-lettered (its key now held) and two jobs delayed by hours
    topic = new_topic("console-tour", partitions=1)
    group, output = f"console-{topic}", tmp_path / "finished"
    dead_letter_one_job(cluster, topic, group, output)
    delayed = publish_delayed(cluster, topic, console.delayed_topic)

    # When a read-only user signs in and visits each page, Then each shows them
    sign_in(page, console, READER, "login")
    page.find(f"#groups tr.group[data-group='{group}']")
    page.shot("the groups", "groups")
    page.open(f"{console.url}/groups/{group}")
    assert page.text("#total-lag") == "0"
    assert page.text("#lag tr.partition td.committed") == str(JOBS)
    page.shot("the group's lag", "group")
    page.open(f"{console.url}/rates")
    rates = page.find(f"#rates-body tr.rate[data-topic='{topic}']")  # drawn by the page's script
    assert rates.find_elements(By.CSS_SELECTOR, "td")[-1].text == "1"  # its one dead letter
    page.shot("the rates", "rates")
    find_the_dead_letter(page, console, topic, "dead-letters")
    open_the_dead_letter(page, "dead-letter")
    page.open(f"{console.url}/quarantine")
    held = [row.text for row in page.all("#quarantine tr.held-key")]
    assert [row for row in held if group in row], held
    page.shot("the held key", "quarantine")
    page.open(f"{console.url}/delayed")
    pending = page.all("#delayed tr.pending-job")
    assert {row.find_elements(By.CSS_SELECTOR, "td")[1].text for row in pending} == delayed
    page.shot("the delayed jobs", "delayed")
