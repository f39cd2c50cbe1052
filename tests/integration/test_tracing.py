"""One trace from `publish` to the handler, across the real broker and registry."""

from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from keel.consumers import App, Context
from keel.producers import ProducerSettings, Publisher, Route
from keel.schemas.demo import SendEmail
from tests.support import jobs
from tests.support.cluster import Cluster
from tests.support.worker import running, wait_for, worker_settings


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


async def test_the_handler_runs_in_the_trace_of_the_publish_that_sent_its_job(
    cluster: Cluster,
    new_topic: Callable[..., str],
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    # Given a traced publisher and a traced worker on one topic
    topic = new_topic("traced")
    routes = {"keel.jobs.SendEmail": Route(topic=topic, partitions=1)}
    app = App(f"traced-{topic}")

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        pass

    # When a job is published and the worker runs it
    with Publisher(cluster.settings(), ProducerSettings(routes=routes), None, provider) as pub:
        delivery = pub.publish(jobs.send_email(), key="user-1")
    async with running(app, worker_settings(cluster, [topic]), provider):
        await wait_for(lambda: _spans(exporter, SpanKind.CONSUMER) != [], what="the consumer span")

    # Then the consumer span is in the producer span's trace, its child and linked to it
    (sent,) = _spans(exporter, SpanKind.PRODUCER)
    (processed,) = _spans(exporter, SpanKind.CONSUMER)
    assert sent.name == f"send {topic}"
    assert (sent.attributes or {})["messaging.message.id"] == delivery.job_id
    assert processed.name == f"process {topic}"
    assert processed.context.trace_id == sent.context.trace_id
    assert processed.parent is not None
    assert processed.parent.span_id == sent.context.span_id
    assert [link.context.span_id for link in processed.links] == [sent.context.span_id]
    attributes = processed.attributes or {}
    assert attributes["messaging.destination.name"] == topic
    assert attributes["messaging.kafka.offset"] == delivery.offset
    assert attributes["messaging.consumer.group.name"] == app.name
    assert attributes["messaging.kafka.message.key"] == "user-1"
    assert attributes["messaging.message.id"] == delivery.job_id


def _spans(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind is kind]
