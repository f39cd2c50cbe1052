"""A job's status page in the console, against the real broker and registry: a done job's
state, attempt, worker, times and decoded result; a queued one a publisher wrote; an unknown
id answered 404 with why; a malformed id 400 naming the field; no status topic, 503 saying so."""

import html
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from fastapi.testclient import TestClient

from keel.consumers.console import ConsoleSettings, create_app
from keel.producers import ProducerSettings, Publisher, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.catalog import JobCatalog
from keel.schemas.codec import JobCodec
from keel.schemas.headers import new_job_id
from keel.schemas.job import Job
from keel.schemas.status import JobStatus, StatusSettings
from keel.schemas.status.record import encode, partition_of
from tests.support.cluster import Cluster
from tests.support.topics import unique_name

READER = "reader-token-0123456789"
PARTITIONS = 3


class ConsoleTotal(Job):
    total: int


class ConsoleChore(Job):
    n: int

    keel_status: ClassVar[bool] = True


@pytest.fixture
def status_settings(admin: AdminClient) -> StatusSettings:
    settings = StatusSettings(topic=unique_name("console-status"), partitions=PARTITIONS)
    ensure_topics(admin, {settings.topic: PARTITIONS}, 1, settings.topic_config())
    return settings


@pytest.fixture
def console(cluster: Cluster, status_settings: StatusSettings) -> Iterator[TestClient]:
    settings = ConsoleSettings(tokens={"bob": {"token": READER, "role": "read"}})
    app = create_app(settings, cluster.settings(), status=status_settings)
    with TestClient(app) as client:
        yield client


def _page() -> dict[str, str]:
    return {"Authorization": f"Bearer {READER}", "Accept": "text/html"}


def _api() -> dict[str, str]:
    return {"Authorization": f"Bearer {READER}"}


def _shown(page: str, element: str) -> str:
    found = re.search(rf'id="{element}"[^>]*>(.*?)</', page, re.S)
    assert found is not None, f"no #{element} in the page"
    return html.unescape(found.group(1)).strip()


def write_status(cluster: Cluster, settings: StatusSettings, status: JobStatus) -> None:
    """`status` on its job's partition of the status topic, as a worker writes it."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers})
    partition = partition_of(status.job_id, PARTITIONS)
    producer.produce(settings.topic, encode(status), status.job_id.encode(), partition=partition)
    assert producer.flush(30) == 0


def test_a_done_job_shows_its_attempt_worker_times_and_decoded_result(
    console: TestClient, cluster: Cluster, status_settings: StatusSettings
) -> None:
    # Given a job done on its second attempt, its result stored as framed Avro
    job_id = new_job_id()
    with clients.registry(cluster.settings()) as registry:
        codec = JobCodec(registry, JobCatalog.from_models([ConsoleTotal]))
        result = codec.encode(ConsoleTotal(total=5), status_settings.topic)
    now_ms = int(time.time() * 1000)
    done = JobStatus(
        job_id,
        "done",
        job_type="tests.AddUp",
        attempt=2,
        at_ms=now_ms,
        worker="host-a:4242",
        started_ms=now_ms - 1500,
        finished_ms=now_ms,
        result=result,
    )
    write_status(cluster, status_settings, done)

    # When a reader opens its page and its JSON
    page = console.get(f"/jobs/{job_id}", headers=_page())
    document = console.get(f"/api/jobs/{job_id}", headers=_api())

    # Then both say done, on attempt 2 by host-a, with the result decoded by its schema
    assert page.status_code == 200
    assert _shown(page.text, "job-state") == "done"
    assert _shown(page.text, "job-attempt") == "2"
    assert _shown(page.text, "job-worker") == "host-a:4242"
    assert _shown(page.text, "job-finished").startswith(time.strftime("%Y-", time.gmtime()))
    assert '"total": 5' in _shown(page.text, "job-result")
    assert document.status_code == 200
    found = document.json()
    assert (found["state"], found["attempt"], found["result"]) == ("done", 2, {"total": 5})
    assert found["result_read_as"].startswith("avro")


def test_the_lookup_form_leads_to_a_queued_job_a_publisher_wrote(
    console: TestClient,
    cluster: Cluster,
    status_settings: StatusSettings,
    new_topic: Callable[..., str],
) -> None:
    # Given a tracked job published, with no worker to run it
    topic = new_topic("console-chores")
    routes = {ConsoleChore.get_fullname(): Route(topic=topic, partitions=1)}
    settings = ProducerSettings(routes=routes, status=status_settings)
    with Publisher(cluster.settings(), settings) as publisher:
        job_id = publisher.publish(ConsoleChore(n=1)).job_id

    # When the lookup form is sent with its id (blanks around it, as pasted)
    asked = console.get(f"/jobs?id=%20{job_id}%20", headers=_page(), follow_redirects=False)
    page = console.get(asked.headers["location"], headers=_page())

    # Then it leads to the job's page, which says queued, with its type
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/jobs/{job_id}"
    assert page.status_code == 200
    assert _shown(page.text, "job-state") == "queued"
    assert _shown(page.text, "job-job-type") == ConsoleChore.get_fullname()


def test_an_unknown_job_is_404_with_why_and_a_malformed_id_400_naming_the_field(
    console: TestClient,
) -> None:
    never = new_job_id()
    old_ms = int(time.time() * 1000) - StatusSettings().retention_ms - 60_000
    old = str(uuid.UUID(int=(old_ms << 80) | (7 << 76) | (2 << 62) | 12345))

    unknown_page = console.get(f"/jobs/{never}", headers=_page())
    unknown_json = console.get(f"/api/jobs/{never}", headers=_api())
    too_old = console.get(f"/api/jobs/{old}", headers=_api())
    malformed_page = console.get("/jobs/order-17", headers=_page())
    malformed_json = console.get("/api/jobs/order-17", headers=_api())
    malformed_form = console.get("/jobs?id=order-17", headers=_page())
    form = console.get("/jobs", headers=_page())
    anonymous = console.get(f"/api/jobs/{never}")

    assert unknown_page.status_code == 404
    assert _shown(unknown_page.text, "job-state") == "unknown"
    assert _shown(unknown_page.text, "job-reason").startswith("not_found")
    assert unknown_json.status_code == 404
    assert unknown_json.json()["state"] == "unknown"
    assert unknown_json.json()["reason"].startswith("not_found")
    assert too_old.status_code == 404
    assert too_old.json()["reason"].startswith("past_retention")
    assert malformed_page.status_code == 400
    assert "job_id: not a job id" in _shown(malformed_page.text, "problem")
    assert malformed_json.status_code == 400
    assert malformed_json.json()["detail"].startswith("job_id: not a job id")
    assert malformed_form.status_code == 400
    assert "id: not a job id" in _shown(malformed_form.text, "problem")
    assert form.status_code == 200
    assert 'id="job-lookup-form"' in form.text
    assert anonymous.status_code == 401


def test_without_the_status_topic_the_page_says_which_topic_is_missing(
    cluster: Cluster,
) -> None:
    missing = StatusSettings(topic=unique_name("console-no-status"))
    settings = ConsoleSettings(tokens={"bob": {"token": READER, "role": "read"}})
    app = create_app(settings, cluster.settings(), status=missing)
    with TestClient(app) as client:
        answered = client.get(f"/api/jobs/{new_job_id()}", headers=_api())

    assert answered.status_code == 503
    assert answered.json()["detail"].startswith(f"no status topic {missing.topic}")
