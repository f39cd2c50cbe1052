"""The console on the secured broker, as a user with only the dead-letter tools' ACLs: it lists
a dead letter, shows it, and replays it, reading the cluster through the one client
configuration (SASL over TLS); no page shows the user's password."""

import re

import pytest
from confluent_kafka.admin import AdminClient
from fastapi.testclient import TestClient

from keel.consumers.console import ConsoleSettings, create_app
from keel.schemas import clients
from keel.schemas.headers import DLT_ERROR_CLASS, DLT_ORIGIN_TOPIC, DLT_REASON
from keel.schemas.topics import dead_letter_topic
from tests.integration.test_secured_roles import dlt_tools_grants
from tests.support.secured import MakeUser, SecuredUser, assert_no_secret
from tests.support.secured_runs import records_in
from tests.support.topics import create_topic, unique_name
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

OPERATOR = "operator-token-0123456789"


@pytest.fixture
def jobs(super_admin: AdminClient, admin_user: SecuredUser) -> str:
    """A job topic whose dead-letter topic holds one letter, written by the admin."""
    name = create_topic(super_admin, unique_name("secured-console"))
    dead_letters = create_topic(super_admin, dead_letter_topic(name))
    producer = clients.producer(admin_user.settings())
    headers: list[tuple[str, str | bytes | None]] = [
        (DLT_ORIGIN_TOPIC, name.encode()),
        (DLT_REASON, b"fatal-error"),
        (DLT_ERROR_CLASS, b"builtins.OSError"),
    ]
    producer.produce(dead_letters, b"job body", b"customer-1", headers=headers)
    assert producer.flush(30) == 0
    return name


def test_the_console_lists_shows_and_replays_as_a_dlt_tools_user(
    secured_user: MakeUser, admin_user: SecuredUser, jobs: str
) -> None:
    user = secured_user("console", *dlt_tools_grants(jobs))
    settings = ConsoleSettings(tokens={"ops": {"token": OPERATOR, "role": "operator"}})
    auth = {"Authorization": f"Bearer {OPERATOR}", "Accept": "text/html"}
    dead_letters = dead_letter_topic(jobs)

    with TestClient(create_app(settings, user.settings())) as console:
        listed = console.get(f"/dead-letters?topic={jobs}", headers=auth)
        shown = console.get(f"/dead-letters/{dead_letters}/0/0", headers=auth)
        done = console.post("/dead-letters/replay/confirm", data={"topic": jobs}, headers=auth)

    assert listed.status_code == 200, listed.text
    assert len(re.findall(r'<tr class="dead-letter"', listed.text)) == 1
    assert shown.status_code == 200
    assert "job body" in shown.text
    assert done.status_code == 200, done.text
    assert 'data-replayed="1"' in done.text
    # jobs' end offset counts the replayed record and its transaction's commit marker
    wait_until(lambda: records_in(admin_user.settings(), jobs) == 2, 30, "the replay in jobs")
    assert_no_secret([listed.text, shown.text, done.text], user.secrets())
