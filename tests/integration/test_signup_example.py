"""The example FastAPI service, called through httpx, leaves a decodable job on the broker."""

import asyncio
from collections.abc import Callable

import httpx
from confluent_kafka.schema_registry import SchemaRegistryClient

from examples.signup.app import create_app
from keel.producers import AsyncPublisher, ProducerSettings, Route
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.headers import JobHeaders
from tests.support.cluster import Cluster
from tests.support.consume import read_records, record_count


def _call_sign_up(app_publisher: AsyncPublisher, body: dict[str, str]) -> httpx.Response:
    app = create_app(app_publisher)

    async def call() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://signup") as client:
                return await client.post("/users", json=body)

    return asyncio.run(call())


def test_sign_up_enqueues_the_welcome_email(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("email", partitions=3)
    settings = ProducerSettings(routes={"keel.jobs.SendEmail": Route(topic=topic, partitions=3)})

    response = _call_sign_up(
        AsyncPublisher(cluster.settings(), settings), {"email": "ada@example.com", "name": "Ada"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    [record] = read_records(cluster.bootstrap_servers, topic, 1)
    with SchemaRegistryClient({"url": cluster.registry_url}) as client:
        job = JobCodec(client, demo_catalog()).decode(record.value())
    assert isinstance(job, SendEmail)
    assert (str(job.user_id), job.to, job.params) == (
        body["user_id"],
        "ada@example.com",
        {"name": "Ada"},
    )
    assert record.key() == body["user_id"].encode()
    assert JobHeaders.decode(record.headers()).job_id == body["welcome_job_id"]


def test_invalid_sign_up_is_refused_and_nothing_is_sent(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("email")
    settings = ProducerSettings(routes={"keel.jobs.SendEmail": Route(topic=topic)})

    response = _call_sign_up(
        AsyncPublisher(cluster.settings(), settings), {"email": "not-an-address", "name": "Ada"}
    )

    assert response.status_code == 422
    assert record_count(cluster.bootstrap_servers, topic) == 0
