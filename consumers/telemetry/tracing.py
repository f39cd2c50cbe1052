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

The handler runs inside its attempt's span: `attempt_scope` makes the span current in the
attempt's own context, so spans a handler starts are its children and its log lines carry the
trace. A poison record, which never gets an attempt, still gets a `process <topic>` span: the
decode error recorded on it, a `dead_letter` event, status ERROR.

`Tracing.of(group)` returns None when no tracer provider is configured: the worker then runs
without this observer at all, so tracing that is off costs nothing per job.
"""

from opentelemetry import context as trace_context
from opentelemetry import trace
from opentelemetry.context import Context as TraceContext
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from keel.consumers.context import Context
from keel.consumers.pipeline.decode import Poison
from keel.consumers.pipeline.observer import FAILED, RETRIED, Attempt, NoObserver
from keel.consumers.pipeline.records import Message
from keel.schemas.headers import TRACEPARENT
from keel.schemas.tracing import (
    ERROR_TYPE,
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


class Tracing(NoObserver):
    """Opens a span when an attempt starts and closes it, with its outcome, when it ends."""

    scoped = True  # the handler runs with its attempt's span as the current one

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
        span = self._start(record, self._attributes(record, context))
        self._open[id(record)] = (span, context.attempt)

    def attempt_scope(self, record: Message, context: Context) -> None:
        opened = self._open.get(id(record))
        if opened is not None:
            # Never detached: this context belongs to the one attempt and ends with it.
            trace_context.attach(trace.set_span_in_context(opened[0]))

    def poisoned(self, record: Message, job_type: str | None, poison: Poison) -> None:
        attributes = self._record_attributes(record)
        attributes[ERROR_TYPE] = poison.reason
        if job_type:
            attributes[JOB_TYPE] = job_type
        span = self._start(record, attributes)
        span.add_event(
            "exception",
            {"exception.type": poison.error_class, "exception.message": poison.message},
        )
        span.add_event(DEAD_LETTER_EVENT, {ERROR_TYPE: poison.reason})
        span.set_status(Status(StatusCode.ERROR, f"{poison.reason}: {poison.message}"))
        span.end()

    def _start(self, record: Message, attributes: _Attributes) -> Span:
        parent = _producer_context(record)
        links = [] if parent is None else [Link(trace.get_current_span(parent).get_span_context())]
        return self._tracer.start_span(
            f"process {record.topic() or ''}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=links,
        )

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Attempt | None = None,
        error: BaseException | None = None,
    ) -> None:
        opened = self._open.pop(id(record.message), None) if record is not None else None
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

    def _attributes(self, record: Message, context: Context) -> _Attributes:
        attributes = self._record_attributes(record)
        attributes[MESSAGING_MESSAGE_ID] = context.job_id
        attributes[JOB_TYPE] = context.job_type
        attributes[JOB_ATTEMPT] = context.attempt
        return attributes

    def _record_attributes(self, record: Message) -> _Attributes:
        attributes: _Attributes = {
            MESSAGING_SYSTEM: "kafka",
            MESSAGING_OPERATION_TYPE: "process",
            MESSAGING_OPERATION_NAME: "process",
            MESSAGING_DESTINATION_NAME: record.topic() or "",
            MESSAGING_DESTINATION_PARTITION_ID: str(record.partition()),
            MESSAGING_KAFKA_OFFSET: record.offset() or 0,
            MESSAGING_CONSUMER_GROUP_NAME: self._group,
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
