"""Consumer spans, read back through the SDK's in-memory exporter (the real engine, no Kafka)."""

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from keel.consumers import App, Context, Reject, RetryPolicy
from keel.consumers.telemetry.tracing import Tracing
from keel.consumers.testing import InMemoryWorker
from keel.producers.records import current_traceparent
from keel.schemas.job import Job
from tests.support.jobs import catalog_of


class Step(Job):
    n: int


CATALOG = catalog_of(Step)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def traced_worker(app: App, provider: TracerProvider) -> InMemoryWorker:
    tracing = Tracing.of("billing", provider)
    assert tracing is not None
    return InMemoryWorker(app, topic="jobs.steps", observer=tracing)


async def run(worker: InMemoryWorker) -> None:
    try:
        await worker.run_until_idle()
    finally:
        await worker.close()


def test_tracing_is_off_without_a_tracer_provider() -> None:
    assert Tracing.of("billing") is None  # the global provider is the unset proxy


async def test_an_attempt_is_a_consumer_span_with_the_messaging_attributes(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        pass

    worker = traced_worker(app, provider)
    worker.send(Step(n=1), key=b"user-7", headers={"keel-job-id": "job-1"})
    await run(worker)

    (span,) = exporter.get_finished_spans()
    assert span.name == "process jobs.steps"
    assert span.kind is SpanKind.CONSUMER
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": "jobs.steps",
        "messaging.destination.partition.id": "0",
        "messaging.kafka.offset": 0,
        "messaging.consumer.group.name": "billing",
        "messaging.kafka.message.key": "user-7",
        "messaging.message.id": "job-1",
        "keel.job.type": "Step",
        "keel.job.attempt": 1,
    }


async def test_the_attempt_span_is_a_child_of_and_linked_to_the_publishing_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        pass

    worker = traced_worker(app, provider)
    with provider.get_tracer("test").start_as_current_span("publish") as publishing:
        traceparent = current_traceparent()
    assert traceparent is not None
    worker.send(Step(n=1), headers={"traceparent": traceparent})
    worker.send(Step(n=2))  # no traceparent: a trace of its own, no link
    await run(worker)

    linked, alone = sorted(_consumer_spans(exporter), key=_offset)
    producer = publishing.get_span_context()
    assert linked.context.trace_id == producer.trace_id
    assert linked.parent is not None
    assert linked.parent.span_id == producer.span_id
    assert [link.context.span_id for link in linked.links] == [producer.span_id]
    assert alone.parent is None
    assert not alone.links
    assert alone.context.trace_id != producer.trace_id


async def test_a_retry_is_an_event_on_the_failed_attempt_with_its_error(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG, retry=RetryPolicy(max_attempts=3))
    attempts = 0

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("smtp down")

    worker = traced_worker(app, provider)
    worker.send(Step(n=1))
    await run(worker)

    failed, succeeded = sorted(exporter.get_finished_spans(), key=_attempt)
    assert failed.status.status_code is StatusCode.ERROR
    assert "smtp down" in (failed.status.description or "")
    assert [e.name for e in failed.events] == ["exception", "retry"]
    assert (failed.events[0].attributes or {})["exception.type"] == "ConnectionError"
    assert succeeded.status.status_code is StatusCode.UNSET
    assert not succeeded.events


async def test_a_rejected_job_ends_its_span_with_a_dead_letter_event_and_error_status(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        raise Reject("bad input")

    worker = traced_worker(app, provider)
    worker.send(Step(n=1))
    await run(worker)

    (span,) = exporter.get_finished_spans()
    assert [e.name for e in span.events] == ["exception", "dead_letter"]
    assert span.status.status_code is StatusCode.ERROR
    assert len(worker.dead_letters) == 1


async def test_spans_an_async_handler_starts_are_children_of_its_attempt_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG)
    tracer = provider.get_tracer("handler")

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        with tracer.start_as_current_span("charge card"):
            await asyncio.sleep(0)  # the span stays current across a suspension
            with tracer.start_as_current_span("call bank"):
                pass

    worker = traced_worker(app, provider)
    worker.send(Step(n=1))
    worker.send(Step(n=2))
    await run(worker)

    spans = exporter.get_finished_spans()
    attempts = {s.context.span_id: s for s in spans if s.kind is SpanKind.CONSUMER}
    charges = [s for s in spans if s.name == "charge card"]
    banks = {s.parent.span_id: s for s in spans if s.name == "call bank" and s.parent}
    assert len(attempts) == 2
    assert len(charges) == 2
    for charge in charges:
        assert charge.parent is not None
        attempt = attempts[charge.parent.span_id]  # each attempt has its own child
        assert charge.context.trace_id == attempt.context.trace_id
        assert banks[charge.context.span_id].context.trace_id == attempt.context.trace_id
    assert {c.parent.span_id for c in charges if c.parent} == set(attempts)
    assert not trace.get_current_span().get_span_context().is_valid  # nothing leaked out


async def test_a_sync_handler_runs_in_its_attempt_span_on_its_thread(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG)
    seen: list[int] = []

    @app.handler(Step)
    def step(job: Step, ctx: Context) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)

    worker = traced_worker(app, provider)
    worker.send(Step(n=1))
    await run(worker)

    (attempt,) = exporter.get_finished_spans()
    assert seen == [attempt.context.span_id]


async def test_a_poison_record_gets_a_span_with_its_error_and_a_dead_letter_event(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    app = App("billing", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        pass

    worker = traced_worker(app, provider)
    worker.send_raw(b"\x07garbage", key=b"k")
    await run(worker)

    (span,) = exporter.get_finished_spans()
    assert span.name == "process jobs.steps"
    assert span.kind is SpanKind.CONSUMER
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception", "dead_letter"]
    assert (span.events[0].attributes or {})[
        "exception.type"
    ] == "keel.schemas.errors.WrongMagicByteError"
    attributes = span.attributes or {}
    assert attributes["error.type"] == "wrong-magic-byte"
    assert attributes["messaging.kafka.offset"] == 0
    assert len(worker.dead_letters) == 1


def _offset(span: ReadableSpan) -> int:
    value = (span.attributes or {})["messaging.kafka.offset"]
    assert isinstance(value, int)
    return value


def _attempt(span: ReadableSpan) -> int:
    value = (span.attributes or {})["keel.job.attempt"]
    assert isinstance(value, int)
    return value


def _consumer_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CONSUMER]
