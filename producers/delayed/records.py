"""A job's record, put off (publisher) and then refiled or released (dispatcher).

A delayed record is the job's own record (key, value, headers, job id, trace context) sent to a
tier of the delayed topic with two more headers: `keel-deliver-at`, its due time, and
`keel-delayed-for-topic`, where it goes when released; a job of a tracked type also carries
`keel-status-tracked`, so that the dispatcher, which knows no job models, can tell whose
cancel to record. Release restores the routed topic and drops the latter two;
`keel-deliver-at` stays, so a worker or a tool can tell how late it ran.
"""

from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Message

from keel.producers.delayed.timing import Delay, due_ms, now_ms, tier
from keel.producers.errors import DelayError
from keel.producers.records import Record
from keel.producers.settings import ProducerSettings
from keel.schemas.headers import (
    DELAYED_FOR_TOPIC,
    DELIVER_AT,
    EXPIRES_AT,
    JOB_ID,
    STATUS_TRACKED,
    Headers,
    header_value,
)

_TRACKED = "1"


def postpone(record: Record, due: int, now: int, delayed_topic: str) -> Record:
    """`record`, sent to the tier of the delayed topic that suits its wait instead.

    Refuses a job that would expire before it is due: it could never run.
    """
    expires = header_value(record.headers, EXPIRES_AT)
    if expires is not None and int(expires) < due:
        raise DelayError("the job expires before it is due", record.job_id)
    headers = [*record.headers, (DELIVER_AT, str(due)), (DELAYED_FOR_TOPIC, record.topic)]
    if record.tracked:
        headers.append((STATUS_TRACKED, _TRACKED))
    return Record(
        record.job_id,
        delayed_topic,
        record.key,
        record.value,
        headers,
        tier(due - now),
        record.tracked,
    )


@dataclass(frozen=True, slots=True)
class Waiting:
    """A record read from a tier of the delayed topic, parsed for the dispatcher."""

    tier: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers
    due: int
    job_id: str
    expires: int | None
    topic: str = ""  # where it goes when released
    tracked: bool = False  # its publisher wrote `queued`: a cancel of it is recorded

    @classmethod
    def of(cls, message: Message) -> "Waiting":
        """Parsed in one pass over the headers: the dispatcher reads every record of every
        tier, so this is its hottest path."""
        raw = message.headers() or []
        headers: Headers = list(raw.items()) if isinstance(raw, dict) else raw
        found: dict[str, str | bytes] = {}
        for name, value in headers:
            if name in _PARSED and name not in found and value is not None:
                found[name] = value
        key = message.key()
        expires = found.get(EXPIRES_AT)
        return cls(
            message.partition() or 0,
            message.offset() or 0,
            key.encode() if isinstance(key, str) else key,
            _bytes(message.value()),
            headers,
            int(found.get(DELIVER_AT, 0)),  # no due time: due now
            _text(found.get(JOB_ID, b"")),
            int(expires) if expires is not None else None,
            _text(found.get(DELAYED_FOR_TOPIC, b"")),
            STATUS_TRACKED in found,
        )

    def released(self) -> Record:
        """The job as its routed topic gets it."""
        headers = [(k, v) for k, v in self.headers if k not in _WAITING_ONLY]
        return Record(self.job_id, self.topic, self.key, self.value, headers)

    def refiled(self, delayed_topic: str, now: int) -> Record:
        """The same record in the tier of what is left of its wait."""
        return Record(
            self.job_id, delayed_topic, self.key, self.value, self.headers, tier(self.due - now)
        )


_PARSED = frozenset({DELIVER_AT, EXPIRES_AT, JOB_ID, DELAYED_FOR_TOPIC, STATUS_TRACKED})
_WAITING_ONLY = frozenset({DELAYED_FOR_TOPIC, STATUS_TRACKED})  # dropped on release


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value


def put_off(
    record: Record, delay: Delay | None, eta: datetime | None, settings: ProducerSettings
) -> Record:
    """`record` as published with `delay=` or `eta=`: unchanged when it is to run now."""
    if delay is None and eta is None:
        return record
    now = now_ms()
    due = due_ms(delay, eta, now, settings.max_delay_s)
    return record if due is None else postpone(record, due, now, settings.delayed_topic)
