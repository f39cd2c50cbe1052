"""OpenTelemetry spans for job attempts: an `Observer`, so the engine holds no tracing code.

One CONSUMER span per attempt, named `process <topic>` with the messaging attributes (system,
topic, partition, offset, consumer group, key, job id) and keel's job type and attempt. The
attempt's outcome is written on its span before it ends: a retry as a `retry` event, a job that
failed for good as a `dead_letter` event, an error as an `exception` event with status ERROR.

The producer's span context travels in the record's `traceparent` header. It becomes the
*parent* of every attempt span, so `publish` and the handler share one trace and a trace view
shows the job's whole history (each retry is one more child of the publish). It is also added
as a span *link*, which is how the messaging conventions relate a consumer to its producer:
backends that follow links (and batch-aware tools) find the producer that way too. Records
without a valid `traceparent` start a new trace and carry no link.

`Tracing.of(group)` returns None when no tracer provider is configured: the worker then runs
without this observer at all, so tracing that is off costs nothing per job.
"""

from opentelemetry import trace
from opentelemetry.context import Context as TraceContext
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from consumers.context import Context
from consumers.middleware import FAILED, RETRIED
from consumers.pipeline.records import Message
from schemas.headers import TRACEPARENT
from schemas.tracing import (
    JOB_ATTEMPT,
    JOB_TYPE,
    MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_DESTINATION_PARTITION_ID,
    MESSAGING_KAFKA_MESSAGE_KEY,
    MESSAGING_KAFKA_OFFSET,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SCOPE,
    TracerProvider,
    key_text,
    tracer_provider,
)

RETRY_EVENT = "retry"
DEAD_LETTER_EVENT = "dead_letter"
_PROPAGATOR = TraceContextTextMapPropagator()
_Attributes = dict[str, str | int]


class Tracing:
    """Opens a span when an attempt starts and closes it, with its outcome, when it ends."""

    def __init__(self, group: str, provider: TracerProvider) -> None:
        self._group = group
        self._tracer = provider.get_tracer(SCOPE)
        # Open spans and their attempt number, by id(record): the record lives until it settles.
        self._open: dict[int, tuple[Span, int]] = {}

    @classmethod
    def of(cls, group: str, provider: TracerProvider | None = None) -> "Tracing | None":
        """Tracing for a worker of `group`, or None when tracing is off (see `tracer_provider`)."""
        found = tracer_provider(provider)
        return None if found is None else cls(group, found)

    def attempt_started(self, record: Message, context: Context) -> None:
        parent = _producer_context(record)
        links = [] if parent is None else [Link(trace.get_current_span(parent).get_span_context())]
        topic = record.topic() or ""
        span = self._tracer.start_span(
            f"process {topic}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=self._attributes(record, topic, context),
            links=links,
        )
        self._open[id(record)] = (span, context.attempt)

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Message | None = None,
        error: BaseException | None = None,
    ) -> None:
        opened = self._open.pop(id(record), None) if record is not None else None
        if opened is None:
            return
        span, attempt = opened
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        if outcome == RETRIED:
            span.add_event(RETRY_EVENT, {JOB_ATTEMPT: attempt})
        elif outcome == FAILED:
            span.add_event(DEAD_LETTER_EVENT, {JOB_ATTEMPT: attempt})
        span.end()

    def dead_lettered(self, job_type: str, reason: str) -> None:
        pass  # the attempt's span already carries its `dead_letter` event

    def _attributes(self, record: Message, topic: str, context: Context) -> _Attributes:
        attributes: _Attributes = {
            MESSAGING_SYSTEM: "kafka",
            MESSAGING_OPERATION_TYPE: "process",
            MESSAGING_OPERATION_NAME: "process",
            MESSAGING_DESTINATION_NAME: topic,
            MESSAGING_DESTINATION_PARTITION_ID: str(record.partition()),
            MESSAGING_KAFKA_OFFSET: record.offset() or 0,
            MESSAGING_CONSUMER_GROUP_NAME: self._group,
            MESSAGING_MESSAGE_ID: context.job_id,
            JOB_TYPE: context.job_type,
            JOB_ATTEMPT: context.attempt,
        }
        key = key_text(record.key())
        if key is not None:
            attributes[MESSAGING_KAFKA_MESSAGE_KEY] = key
        return attributes


def _producer_context(record: Message) -> TraceContext | None:
    """The context holding the producer's span, or None when the record carries none."""
    for name, value in record.headers() or ():
        if name == TRACEPARENT and value is not None:
            found = _PROPAGATOR.extract({TRACEPARENT: value.decode("ascii", "replace")})
            if trace.get_current_span(found).get_span_context().is_valid:
                return found
    return None
