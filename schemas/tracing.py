"""What both sides of a trace agree on: the messaging attribute names and "is tracing on".

Span names and attributes follow the OpenTelemetry messaging semantic conventions (the names
come from the `opentelemetry-semantic-conventions` package the SDK installs, so they move with
it). Tracing is *on* when the process has a real tracer provider: keel only asks the global one
once, when a publisher or worker is built, and installs nothing on the hot path otherwise.
"""

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_DESTINATION_PARTITION_ID,
    MESSAGING_KAFKA_MESSAGE_KEY,
    MESSAGING_KAFKA_OFFSET,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE

__all__ = [
    "ERROR_TYPE",
    "JOB_ATTEMPT",
    "JOB_TYPE",
    "MESSAGING_CONSUMER_GROUP_NAME",
    "MESSAGING_DESTINATION_NAME",
    "MESSAGING_DESTINATION_PARTITION_ID",
    "MESSAGING_KAFKA_MESSAGE_KEY",
    "MESSAGING_KAFKA_OFFSET",
    "MESSAGING_MESSAGE_ID",
    "MESSAGING_OPERATION_NAME",
    "MESSAGING_OPERATION_TYPE",
    "MESSAGING_SYSTEM",
    "SCOPE",
    "TracerProvider",
    "key_text",
    "tracer_provider",
]

SCOPE = "keel"
JOB_TYPE = "keel.job.type"
JOB_ATTEMPT = "keel.job.attempt"

TracerProvider = trace.TracerProvider


def tracer_provider(given: TracerProvider | None = None) -> TracerProvider | None:
    """`given`, else the global provider if one was set; None means tracing is off.

    Until an application sets a provider, the global one is a proxy that hands out no-op
    tracers: asking it for spans would cost a little on every job for nothing, so keel installs
    no tracing at all instead. A provider set after a worker or publisher was built is not seen.
    """
    provider = given or trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider


def key_text(key: bytes | None) -> str | None:
    """A record key as the span attribute shows it: its UTF-8 text, or None for no key."""
    return None if key is None else key.decode("utf-8", "replace")
