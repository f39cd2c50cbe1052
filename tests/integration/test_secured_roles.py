"""Each role of keel against the secured broker, as its own user with only the ACLs it needs.

The grants below are the ones docs/security.md lists per role; a test that passes with them
shows they are enough. Every process's output is searched for the passwords afterwards.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclOperation
from confluent_kafka.admin._resource import ResourceType

from keel.consumers.dead_letters.replay import LEDGER_SUFFIX
from keel.deploy.local.users import Resource, group, topic
from keel.schemas.beats import DEFAULT_TOPIC
from keel.schemas.topics import dead_letter_topic
from tests.support.processes import WorkerProcess, lines
from tests.support.schedules import every_second
from tests.support.secured import Grant, MakeUser, SecuredUser, assert_no_secret
from tests.support.secured_runs import (
    cluster_of,
    keel,
    publish_as_admin,
    publish_poison,
    records_in,
    routes,
)
from tests.support.topics import create_topic, unique_name
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

READ, WRITE, CREATE = AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE
DESCRIBE = AclOperation.DESCRIBE
_REPORT = "keel.jobs.GenerateReport"


def transactional_id(name: str) -> Resource:
    return Resource(ResourceType.TRANSACTIONAL_ID, name)


def worker_grants(jobs: str, group_id: str) -> list[Grant]:
    return [
        Grant(topic(jobs), [READ]),
        Grant(group(group_id), [READ]),
        Grant(topic(dead_letter_topic(jobs)), [WRITE]),
        Grant(topic(DEFAULT_TOPIC), [WRITE]),  # its heartbeats
    ]


def publisher_grants(jobs: str) -> list[Grant]:
    return [Grant(topic(jobs), [WRITE])]


def dlt_tools_grants(jobs: str) -> list[Grant]:
    dead_letters = dead_letter_topic(jobs)
    return [
        Grant(topic(dead_letters), [READ]),
        Grant(topic(dead_letters + LEDGER_SUFFIX), [READ, WRITE, CREATE]),
        Grant(topic(jobs), [WRITE]),
        Grant(transactional_id(f"keel-dlt-replay-{dead_letters}"), [WRITE]),
    ]


def topics_ensure_grants(jobs: str) -> list[Grant]:
    return [
        Grant(topic(jobs, prefixed=True), [CREATE, DESCRIBE]),
        Grant(topic(DEFAULT_TOPIC), [CREATE, DESCRIBE]),  # the workers' heartbeats
    ]


def scheduler_grants(name: str, jobs: str) -> list[Grant]:
    state = every_second.state_topic.replace(every_second.name, name)
    return [
        Grant(topic(state), [READ, WRITE, CREATE]),
        Grant(group(f"keel-scheduler.{name}"), [READ]),
        Grant(transactional_id(f"keel-scheduler.{name}"), [WRITE]),
        Grant(topic(jobs), [WRITE]),
    ]


def test_a_worker_runs_jobs_dead_letters_poison_and_the_dlt_tools_replay_it(
    secured_user: MakeUser, super_admin: AdminClient, admin_user: SecuredUser, tmp_path: Path
) -> None:
    # Given a job topic and its dead-letter topic, five jobs and one poison record
    jobs = create_topic(super_admin, unique_name("secured-jobs"))
    dead_letters = create_topic(super_admin, dead_letter_topic(jobs))
    publish_as_admin(admin_user, jobs, 5)
    publish_poison(admin_user.settings(), jobs)
    group_id = f"workers-{jobs}"
    worker_user = secured_user("worker", *worker_grants(jobs, group_id))
    output = tmp_path / "finished"

    # When a worker runs as a user with only the worker's ACLs
    worker = WorkerProcess(cluster_of(worker_user), jobs, group_id, output, env=worker_user.env())
    try:
        wait_until(
            lambda: (
                len(lines(output)) == 5 and records_in(admin_user.settings(), dead_letters) == 1
            ),
            60,
            "five jobs run and one dead letter",
        )
        # And the dead-letter tools, as a user of their own, list and replay the poison
        tools = secured_user("dlt-tools", *dlt_tools_grants(jobs))
        listed = keel(tools, "dlt", "list", jobs)
        replayed = keel(tools, "dlt", "replay", jobs)
        # Then the replayed poison comes back to the worker, which dead-letters it again
        wait_until(
            lambda: records_in(admin_user.settings(), dead_letters) == 2, 60, "a second letter"
        )
        assert worker.terminate() == 0
    finally:
        worker.stop()

    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 1
    assert "0:0" in listed.stdout
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1," in replayed.stdout
    assert_no_secret([worker.log], worker_user.secrets())


def test_a_publisher_publishes(
    secured_user: MakeUser, super_admin: AdminClient, admin_user: SecuredUser
) -> None:
    jobs = create_topic(super_admin, unique_name("secured-publish"))
    user = secured_user("publisher", *publisher_grants(jobs))

    done = subprocess.run(
        [sys.executable, "-m", "tests.support.publish_emails", "3"],
        env=user.process_env(KEEL_ROUTES=routes(jobs)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert records_in(admin_user.settings(), jobs) == 3
    assert_no_secret([done.stdout, done.stderr], user.secrets())


def test_topics_ensure_creates_the_job_and_dead_letter_topics(
    secured_user: MakeUser, admin_user: SecuredUser
) -> None:
    jobs = unique_name("secured-ensure")
    user = secured_user("deployer", *topics_ensure_grants(jobs))

    first = keel(user, "topics", "ensure", KEEL_ROUTES=routes(jobs))
    again = keel(user, "topics", "ensure", KEEL_ROUTES=routes(jobs))

    assert first.returncode == 0, first.stderr
    assert f"created {jobs} " in first.stdout
    assert f"created {dead_letter_topic(jobs)} " in first.stdout
    assert again.returncode == 0, again.stderr
    assert f"found   {jobs}" in again.stdout


def test_the_scheduler_publishes(
    secured_user: MakeUser, super_admin: AdminClient, admin_user: SecuredUser, tmp_path: Path
) -> None:
    jobs = create_topic(super_admin, unique_name("secured-reports"))
    name = unique_name("secured")
    user = secured_user("scheduler", *scheduler_grants(name, jobs))
    log = tmp_path / "scheduler.log"

    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keel",
                "scheduler",
                "run",
                "tests.support.schedules:every_second",
            ],
            env=user.process_env(
                KEEL_ROUTES=routes(jobs, _REPORT),
                KEEL_TEST_SCHEDULER=name,
                KEEL_SCHEDULER_SESSION_TIMEOUT_MS="6000",
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: records_in(admin_user.settings(), jobs) >= 2 or process.poll() is not None,
            60,
            "two fires",
        )
    finally:
        process.terminate()
        process.wait(30)

    assert records_in(admin_user.settings(), jobs) >= 2, log.read_text()[-3000:]
    assert_no_secret([log], user.secrets())
