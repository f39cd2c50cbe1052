"""JSON log lines that carry the job's ids and the attempt span's trace (real engine, no Kafka)."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from keel.consumers import App, Context
from keel.consumers.pipeline.observer import Observer, observers
from keel.consumers.telemetry.logs import JobLogContext, log_handler
from keel.consumers.telemetry.tracing import Tracing
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of


class Step(Job):
    n: int


CATALOG = catalog_of(Step)


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = log_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def logged(stream: io.StringIO, message: str) -> list[dict[str, object]]:
    found = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in found if line["message"] == message]


async def run(app: App, observer: Observer, job: Job) -> None:
    worker = InMemoryWorker(app, topic="jobs.steps", observer=observer)
    worker.send(job, headers={"keel-job-id": "job-7"})
    try:
        await worker.run_until_idle()
    finally:
        await worker.close()


async def test_a_handler_log_line_is_json_with_the_job_id_and_the_attempt_trace(
    lines: io.StringIO,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = App("billing", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        logging.getLogger("billing.charges").info("charged")
        ctx.logger.warning("through ctx")

    try:
        await run(app, observers([Tracing.of("billing", provider), JobLogContext()]), Step(n=1))
    finally:
        provider.shutdown()

    (attempt,) = exporter.get_finished_spans()
    (charged,) = logged(lines, "charged")
    assert charged["job_id"] == "job-7"
    assert charged["job_type"] == "Step"
    assert charged["attempt"] == 1
    assert charged["trace_id"] == format(attempt.context.trace_id, "032x")
    assert charged["span_id"] == format(attempt.context.span_id, "016x")
    assert charged["logger"] == "billing.charges"
    assert charged["level"] == "INFO"
    (through_ctx,) = logged(lines, "through ctx")
    assert through_ctx["job_id"] == "job-7"
    assert through_ctx["trace_id"] == charged["trace_id"]


async def test_a_sync_handler_logs_its_job_from_its_thread_without_tracing(
    lines: io.StringIO,
) -> None:
    app = App("billing", catalog=CATALOG)

    @app.handler(Step)
    def step(job: Step, ctx: Context) -> None:
        logging.getLogger("billing").info("on a thread")

    await run(app, JobLogContext(), Step(n=2))

    (line,) = logged(lines, "on a thread")
    assert (line["job_id"], line["attempt"]) == ("job-7", 1)
    assert "trace_id" not in line  # no tracer provider: no trace to name


def test_a_log_line_outside_any_job_carries_no_job_fields(lines: io.StringIO) -> None:
    logging.getLogger("keel.worker").info("idle")
    (line,) = logged(lines, "idle")
    assert "job_id" not in line
