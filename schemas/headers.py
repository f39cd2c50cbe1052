"""Record headers that travel with every job, shared by producers and workers.

Values are ASCII bytes so any Kafka tool can read them: the job id is a UUIDv7 (unique, and
sortable by creation time), created-at is epoch milliseconds, attempt counts from 1, and
`traceparent` is the W3C trace context of the span that published the job, when there was one.

A record set aside in a dead-letter topic keeps its own headers and gains the `keel-dlt-*` ones
below: where it came from, which group failed it, and why. A replayed job carries
`keel-replay-of` and `keel-replayed-at`. Tools that read dead letters (`keel dlt`, the load
harness) take the names from here.
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
# Jobs in time (docs/scheduling.md), both epoch milliseconds: when a delayed job is due, and the
# moment after which a job that has not started must not run.
DELIVER_AT = "keel-deliver-at"
EXPIRES_AT = "keel-expires-at"

# On a dead-lettered record: where it was read from, which consumer group set it aside, and why.
DLT_ORIGIN_TOPIC = "keel-dlt-origin-topic"
DLT_ORIGIN_PARTITION = "keel-dlt-origin-partition"
DLT_ORIGIN_OFFSET = "keel-dlt-origin-offset"
DLT_ORIGIN_TIMESTAMP = "keel-dlt-origin-timestamp"
DLT_GROUP = "keel-dlt-group"
DLT_JOB_TYPE = "keel-dlt-job-type"
DLT_ATTEMPTS = "keel-dlt-attempts"
DLT_REASON = "keel-dlt-reason"
DLT_ERROR_CLASS = "keel-dlt-error-class"
DLT_ERROR_MESSAGE = "keel-dlt-error-message"
DLT_TRACEBACK = "keel-dlt-traceback"
DLT_FIRST_FAILURE = "keel-dlt-first-failure"
DLT_LAST_FAILURE = "keel-dlt-last-failure"
DEAD_LETTER_HEADERS = frozenset(
    {
        DLT_ORIGIN_TOPIC,
        DLT_ORIGIN_PARTITION,
        DLT_ORIGIN_OFFSET,
        DLT_ORIGIN_TIMESTAMP,
        DLT_GROUP,
        DLT_JOB_TYPE,
        DLT_ATTEMPTS,
        DLT_REASON,
        DLT_ERROR_CLASS,
        DLT_ERROR_MESSAGE,
        DLT_TRACEBACK,
        DLT_FIRST_FAILURE,
        DLT_LAST_FAILURE,
    }
)
# On a job replayed from a dead-letter topic: which dead-letter record, and when.
REPLAY_OF = "keel-replay-of"
REPLAYED_AT = "keel-replayed-at"
# On a replay ledger entry: who asked for the replay (the console's token name), when known.
REPLAYED_BY = "keel-replayed-by"
# On a delayed job while it waits in the delayed topic: the routed topic it is released to; and,
# for a job of a tracked type (its publisher wrote `queued`), "1": the dispatcher writes its
# `cancelled` status if a cancel drops it (docs/status.md).
DELAYED_FOR_TOPIC = "keel-delayed-for-topic"
STATUS_TRACKED = "keel-status-tracked"
# Key quarantine (docs/guarantees.md). On a parked record in the dead-letter topic: the job that
# blocks its key, named by its origin position `topic/partition/offset`, and that job's id. On a
# replayed job: the blocker whose quarantine it is replayed for (it runs while the key is held).
# On a resume marker (a record with no value): the blocker it ends the quarantine of, and the
# highest origin offset the replay or release covered.
BLOCKED_BY = "keel-blocked-by"
BLOCKED_BY_JOB = "keel-blocked-by-job"
QUARANTINE_REPLAY = "keel-quarantine-replay"
QUARANTINE_RESUME = "keel-quarantine-resume"
QUARANTINE_COVERS = "keel-quarantine-covers"

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
