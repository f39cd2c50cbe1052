"""The PRODUCER span of a publish, opened around building the record so the record carries it.

`RecordBuilder.build` writes the active span's `traceparent` into the record's headers; making
this span active while it builds is what lets the worker's `process` span join the publisher's
trace. The span covers building and validating the job (a refused job ends it with the error),
not the broker's acknowledgement, which arrives on another thread and maybe much later; the
partition is chosen by librdkafka after the span has ended, so it is not an attribute.

`traced_build` returns the plain builder when tracing is off: nothing is added per job.
"""

from collections.abc import Callable

from opentelemetry.trace import SpanKind

from keel.producers.records import Key, Record, RecordBuilder
from keel.schemas.job import Job
from keel.schemas.tracing import (
    JOB_TYPE,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_KAFKA_MESSAGE_KEY,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SCOPE,
    TracerProvider,
    key_text,
    tracer_provider,
)

Build = Callable[[Job, Key | None], Record]


def traced_build(records: RecordBuilder, provider: TracerProvider | None = None) -> Build:
    """`records.build`, inside a `send <topic>` span when a tracer provider is configured."""
    found = tracer_provider(provider)
    if found is None:
        return records.build
    tracer = found.get_tracer(SCOPE)

    def build(job: Job, key: Key | None) -> Record:
        topic, job_type = records.route(job)
        attributes = {
            MESSAGING_SYSTEM: "kafka",
            MESSAGING_OPERATION_TYPE: "send",
            MESSAGING_OPERATION_NAME: "send",
            MESSAGING_DESTINATION_NAME: topic,
            JOB_TYPE: job_type,
        }
        with tracer.start_as_current_span(
            f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            record = records.build(job, key)
            span.set_attribute(MESSAGING_MESSAGE_ID, record.job_id)
            text = key_text(record.key)
            if text is not None:
                span.set_attribute(MESSAGING_KAFKA_MESSAGE_KEY, text)
            return record

    return build
