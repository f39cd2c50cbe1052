"""What keel says when the secured cluster refuses it: a wrong password, a missing ACL.

Each refusal is one clear line, within seconds, naming the mechanism (for a login) or the
operation and the resource (for an ACL); never a silent idle worker or a retry loop. Every
process's output is searched for the passwords afterwards.
"""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclOperation

from keel.deploy.local.ports import pick_free_ports
from keel.deploy.local.users import grant, group, topic
from keel.producers import Publisher
from keel.schemas import clients
from keel.schemas.errors import AuthenticationError
from keel.schemas.topics import dead_letter_topic
from tests.support.processes import WorkerProcess, lines
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

READ, WRITE, DESCRIBE = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE
_REFUSAL_S = 15.0  # process start (imports) plus the login attempt


def _with_wrong_password(user: SecuredUser) -> SecuredUser:
    return SecuredUser(user.name, uuid.uuid4().hex, user.security)


def _run_worker(
    user: SecuredUser, jobs: str, group_id: str, log: Path
) -> subprocess.CompletedProcess[str]:
    """`keel worker` as `user`, expected to stop by itself: its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "keel", "worker", "tests.support.apps:app"],
        env=user.process_env(
            KEEL_WORKER_TOPICS=json.dumps([jobs]),
            KEEL_WORKER_GROUP_ID=group_id,
            KEEL_WORKER_HEALTH_PORT="0",
            KEEL_TEST_OUTPUT=str(log),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_worker_with_a_wrong_password_stops_at_once_naming_the_mechanism(
    secured_user: MakeUser, super_admin: AdminClient, tmp_path: Path
) -> None:
    jobs = create_topic(super_admin, unique_name("refused-login"))
    group_id = f"workers-{jobs}"
    user = secured_user(
        "worker",
        Grant(topic(jobs), [READ]),
        Grant(group(group_id), [READ]),
        Grant(topic(dead_letter_topic(jobs)), [WRITE]),
    )
    wrong = _with_wrong_password(user)

    started = time.monotonic()
    done = _run_worker(wrong, jobs, group_id, tmp_path / "finished")
    took = time.monotonic() - started

    assert done.returncode == 1, done.stderr[-2000:]
    assert took < _REFUSAL_S
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr[-2000:]
    assert "authentication failed" in errors[0]
    assert "SCRAM-SHA-512" in errors[0]
    assert user.name in errors[0]
    assert "Traceback" not in done.stderr
    assert_no_secret([done.stdout, done.stderr], [*user.secrets(), wrong.password])


def test_a_publisher_with_a_wrong_password_raises_naming_the_mechanism(
    secured_user: MakeUser, super_admin: AdminClient, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = create_topic(super_admin, unique_name("refused-publish"))
    user = secured_user("publisher", Grant(topic(jobs), [WRITE]))
    wrong = _with_wrong_password(user)

    started = time.monotonic()
    with pytest.raises(AuthenticationError) as raised:
        Publisher(cluster=wrong.settings())
    took = time.monotonic() - started

    assert took < 10
    assert "SCRAM-SHA-512" in str(raised.value)
    assert user.name in str(raised.value)
    assert_no_secret([str(raised.value), caplog.text or "-"], [*user.secrets(), wrong.password])


def test_a_worker_without_read_on_its_group_stops_naming_the_group(
    secured_user: MakeUser, super_admin: AdminClient, tmp_path: Path
) -> None:
    jobs = create_topic(super_admin, unique_name("refused-group"))
    create_topic(super_admin, dead_letter_topic(jobs))
    group_id = f"workers-{jobs}"
    user = secured_user(
        "worker", Grant(topic(jobs), [READ]), Grant(topic(dead_letter_topic(jobs)), [WRITE])
    )

    done = _run_worker(user, jobs, group_id, tmp_path / "finished")

    assert done.returncode == 1, done.stderr[-2000:]
    assert f"not authorized to Read group {group_id}" in done.stderr
    assert "Traceback" not in done.stderr
    assert_no_secret([done.stdout, done.stderr], user.secrets())


def test_a_worker_without_read_on_its_topic_stops_naming_the_topic(
    secured_user: MakeUser, super_admin: AdminClient, tmp_path: Path
) -> None:
    jobs = create_topic(super_admin, unique_name("refused-topic"))
    create_topic(super_admin, dead_letter_topic(jobs))
    group_id = f"workers-{jobs}"
    user = secured_user(
        "worker",
        Grant(topic(jobs), [DESCRIBE]),
        Grant(group(group_id), [READ]),
        Grant(topic(dead_letter_topic(jobs)), [WRITE]),
    )

    done = _run_worker(user, jobs, group_id, tmp_path / "finished")

    assert done.returncode == 1, done.stderr[-2000:]
    assert f"not authorized to Read topic {jobs}" in done.stderr
    assert_no_secret([done.stdout, done.stderr], user.secrets())


def test_topics_ensure_without_create_rights_names_each_topic_and_why(
    secured_user: MakeUser,
) -> None:
    jobs = unique_name("refused-ensure")
    user = secured_user("deployer", Grant(topic(jobs, prefixed=True), [DESCRIBE]))

    done = keel(user, "topics", "ensure", KEEL_ROUTES=routes(jobs))

    assert done.returncode == 1, done.stdout + done.stderr
    for name in (jobs, dead_letter_topic(jobs)):
        assert f"not created {name}: not authorized to Create" in done.stderr, done.stderr
    assert "AUTHORIZATION_FAILED" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_that_may_not_write_its_dead_letter_topic_holds_the_partition(
    secured_user: MakeUser, super_admin: AdminClient, admin_user: SecuredUser, tmp_path: Path
) -> None:
    # Given a job, a poison record and another job (of another key), and a worker allowed to
    # read but not to write the dead-letter topic
    jobs = create_topic(super_admin, unique_name("refused-dlt"))
    dead_letters = create_topic(super_admin, dead_letter_topic(jobs))
    publish_as_admin(admin_user, jobs, 1)
    publish_poison(admin_user.settings(), jobs)
    publish_as_admin(admin_user, jobs, 2)
    group_id = f"workers-{jobs}"
    user = secured_user("worker", Grant(topic(jobs), [READ]), Grant(group(group_id), [READ]))
    (port,) = pick_free_ports(1)
    output = tmp_path / "finished"

    # When it runs
    worker = WorkerProcess(
        cluster_of(user),
        jobs,
        group_id,
        output,
        env=user.env(),
        health_port=str(port),
        drain_timeout="2",
        shutdown_timeout="3",
    )
    try:
        # Then readiness fails on the blocked partition, and the log names the topic and Write
        wait_until(lambda: _ready(port) is False, 60, "readiness to fail on the blocked partition")
        wait_until(
            lambda: (
                f"cannot write to the dead-letter topic for {jobs}/0 (not authorized to Write "
                f"topic {dead_letters}" in worker.log.read_text()
            ),
            30,
            "the refusal in the log",
        )
        wait_until(lambda: len(lines(output)) == 3, 30, "the other jobs to run")
        # And nothing is dropped: the commit stays at the poison record (offset 1)
        time.sleep(1.0)  # several commit intervals
        assert _committed(admin_user, group_id, jobs) <= 1
        assert records_in(admin_user.settings(), dead_letters) == 0

        # When Write is granted, the next retry goes through without a restart
        grant(super_admin, f"User:{user.name}", topic(dead_letters), [WRITE])
        wait_until(lambda: records_in(admin_user.settings(), dead_letters) == 1, 60, "the letter")
        wait_until(lambda: _ready(port) is True, 30, "readiness to recover")
        assert worker.terminate() == 0
    finally:
        worker.stop()

    assert _committed(admin_user, group_id, jobs) == 4
    assert_no_secret([worker.log], user.secrets())


def _ready(port: int) -> bool | None:
    """True or False as `/readyz` says (False only for a blocked dead-letter write)."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except httpx.HTTPError:
        return None
    if answer.status_code == 200:
        return True
    return False if answer.json()["dead_letter_blocked"] else None


def _committed(admin_user: SecuredUser, group_id: str, jobs: str) -> int:
    consumer = clients.consumer(admin_user.settings(), group_id)
    try:
        (found,) = consumer.committed([TopicPartition(jobs, 0)], 30)
        return int(found.offset)
    finally:
        consumer.close()
