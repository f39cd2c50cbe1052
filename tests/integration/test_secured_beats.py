"""Worker beats on the secured cluster: a worker that may not write them logs it once and runs."""

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclOperation

from keel.deploy.local.users import group, topic
from tests.support.processes import WorkerProcess, lines
from tests.support.secured import Grant, MakeUser, SecuredUser, assert_no_secret
from tests.support.secured_runs import cluster_of, publish_as_admin
from tests.support.topics import create_topic, unique_name
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

READ = AclOperation.READ
REFUSED = "worker beats not published"


def test_a_worker_that_may_not_write_its_beats_logs_it_once_and_runs_its_jobs(
    secured_user: MakeUser, super_admin: AdminClient, admin_user: SecuredUser, tmp_path: Path
) -> None:
    # Given a beats topic and a worker allowed its jobs and group, but nothing on that topic
    jobs = create_topic(super_admin, unique_name("beats-refused"))
    beats = create_topic(super_admin, unique_name("beats-refused-workers"))
    group_id = f"workers-{jobs}"
    user = secured_user("worker", Grant(topic(jobs), [READ]), Grant(group(group_id), [READ]))
    output = tmp_path / "finished"

    # When it runs jobs, beating every 0.2 s
    worker = WorkerProcess(
        cluster_of(user),
        jobs,
        group_id,
        output,
        env={**user.env(), "KEEL_BEATS_TOPIC": beats, "KEEL_BEATS_INTERVAL": "0.2"},
        shutdown_timeout="5",
    )
    try:
        publish_as_admin(admin_user, jobs, 3)
        wait_until(lambda: len(lines(output)) == 3, 60, "the jobs to run")
        wait_until(lambda: REFUSED in worker.log.read_text(), 60, "the refusal in the log")
        # Then it runs on: three more jobs run while beat after beat is refused, and so is the
        # tombstone when it stops
        publish_as_admin(admin_user, jobs, 3)
        wait_until(lambda: len(lines(output)) == 6, 60, "three more jobs to run")
        assert worker.terminate() == 0, worker.log.read_text()[-4000:]
    finally:
        worker.stop()
    # And the refusal is told once
    log = worker.log.read_text()
    refusals = [line for line in log.splitlines() if REFUSED in line]
    assert len(refusals) == 1, refusals
    assert f"not authorized to Write topic {beats}" in refusals[0]
    assert_no_secret([worker.log], user.secrets())
