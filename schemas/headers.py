"""Record headers that travel with every job, shared by producers and workers.

Values are ASCII bytes so any Kafka tool can read them: the job id is a UUIDv7 (unique, and
sortable by creation time), created-at is epoch milliseconds, attempt counts from 1, and
`traceparent` is the W3C trace context of the span that published the job, when there was one.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from uuid_utils import uuid7

JOB_ID = "keel-job-id"
JOB_TYPE = "keel-job-type"
CREATED_AT = "keel-created-at"
ATTEMPT = "keel-attempt"
TRACEPARENT = "traceparent"
# On jobs a scheduler published: which schedule, and the fire time (epoch millis) it is for.
SCHEDULE = "keel-schedule"
SCHEDULED_FOR = "keel-scheduled-for"

HeaderValue = str | bytes | None
# The shapes confluent-kafka accepts on produce and returns from `Message.headers()`.
Headers = list[tuple[str, HeaderValue]]
AnyHeaders = Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue] | None


def new_job_id() -> str:
    """A unique id whose text sorts by creation time (UUIDv7)."""
    return str(uuid7())


@dataclass(frozen=True, slots=True)
class JobHeaders:
    """The headers of one job, parsed."""

    job_id: str
    job_type: str
    created_at_ms: int
    attempt: int = 1
    traceparent: str | None = None

    def encode(self) -> Headers:
        """The header list a producer passes to `produce(headers=...)`."""
        headers: Headers = [
            (JOB_ID, self.job_id.encode()),
            (JOB_TYPE, self.job_type.encode()),
            (CREATED_AT, str(self.created_at_ms).encode()),
            (ATTEMPT, str(self.attempt).encode()),
        ]
        if self.traceparent is not None:
            headers.append((TRACEPARENT, self.traceparent.encode()))
        return headers

    @classmethod
    def decode(cls, headers: AnyHeaders) -> "JobHeaders":
        """Parse a record's headers; raises `ValueError` when a required one is missing."""
        found = {name: _text(value) for name, value in _pairs(headers) if value is not None}
        try:
            return cls(
                job_id=found[JOB_ID],
                job_type=found[JOB_TYPE],
                created_at_ms=int(found[CREATED_AT]),
                attempt=int(found.get(ATTEMPT, "1")),
                traceparent=found.get(TRACEPARENT),
            )
        except KeyError as missing:
            raise ValueError(f"record has no {missing.args[0]} header") from None

    def next_attempt(self) -> "JobHeaders":
        """The same job, one attempt later: what a retry republishes."""
        return JobHeaders(
            self.job_id, self.job_type, self.created_at_ms, self.attempt + 1, self.traceparent
        )


def header_value(headers: AnyHeaders, name: str) -> bytes | None:
    """The first value of header `name` as bytes, or None."""
    for key, value in _pairs(headers):
        if key == name:
            return value.encode() if isinstance(value, str) else value
    return None


def _pairs(headers: AnyHeaders) -> Iterable[tuple[str, HeaderValue]]:
    if headers is None:
        return ()
    return headers.items() if isinstance(headers, Mapping) else headers


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()
