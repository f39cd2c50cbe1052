"""A job's status as the status topic holds it, and the pure rules of reading it back.

A status is a small JSON object (read by people and the console; the result inside is
Confluent-framed Avro, base64), kept in one of two kinds of record:

- one status, keyed by the job id: what a publisher (`queued`) and other single writers send;
- a batch, keyed `BATCH_PREFIX` + its writer + a sequence number: a worker's statuses of one
  window and one partition, `{"v":1,"worker":..,"statuses":[..],"clock_ms":..,"done":[..]}`:
  "statuses" holds status objects, "done" the plain `done`s (no result, no error) of each job
  type as columns, `{"job_type":..,"job_ids":[..],"attempts":[..],"started":"..","took":".."}`.
  "started" and "took" are little-endian doubles, base64 (`pack_doubles`): each row's start on
  the worker's clock and its handler's seconds; the row started at `clock_ms + 1000 * start`
  and finished `took` later. "took" is left out when all are under a millisecond, "attempts"
  when all are 1. (Batches written before the packed columns carry "started_ms" and
  "took_ms" as lists of milliseconds instead; both are read.) A record per job cost a worker
  about as much as the job itself (a produce call, a delivery report, the broker's work per
  record); a batch costs a join. Its keys never repeat, so compaction keeps every batch until
  the retention deletes it.

Every id goes to one partition, `partition_of`, computed here so that a writer and a lookup
agree without asking librdkafka which partitioner it used; a batch holds the ids of one
partition only. A job id is a UUIDv7, whose first
48 bits are its creation time in milliseconds: a lookup seeks there (`seek_time_ms`) instead
of reading the whole topic.
"""

import base64
import json
import sys
import uuid
import zlib
from array import array
from dataclasses import dataclass, fields
from json.encoder import encode_basestring_ascii as quoted
from typing import Any, Literal, get_args

JobState = Literal[
    "unknown",
    "queued",
    "running",
    "retrying",
    "parked",
    "done",
    "dead_lettered",
    "expired",
    "cancelled",
]
STATES: tuple[JobState, ...] = get_args(JobState)
# A job in one of these has ended: `result()` stops waiting. Not `parked`: a parked job waits
# for its key's replay or release, and then runs.
FINAL: frozenset[JobState] = frozenset({"done", "dead_lettered", "expired", "cancelled"})
Unknown = Literal["not_found", "past_retention", "not_a_job_id"]
UNKNOWN_WHY: dict[Unknown, str] = {
    "not_found": "never published, its type is not tracked, or no status was written yet",
    "past_retention": "older than the status topic's retention: its status was deleted",
    "not_a_job_id": "not a job id (a UUID)",
}
VERSION = 1  # the value's "v": a reader skips what it does not know
BATCH_PREFIX = b"keel.batch:"  # the key of a worker's batch; a job id never starts so
_ENCODER = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class JobStatus:
    """What was last recorded about one job; times are Unix milliseconds.

    `attempt` is the attempt the state is about (1 for the first run). `reason` says why a job
    is dead-lettered, parked, expired, cancelled or unknown; `error` is what its last failed
    attempt raised. `blocked_by` names the job a parked job waits behind: its id, or its
    position `topic/partition/offset` when it has none. `result` is the framed Avro of a done
    job's result, when its type declares one.
    """

    job_id: str
    state: JobState
    job_type: str | None = None
    attempt: int = 0
    at_ms: int | None = None  # when this state was recorded
    worker: str | None = None
    started_ms: int | None = None
    finished_ms: int | None = None
    next_attempt_ms: int | None = None
    error: str | None = None
    reason: str | None = None
    blocked_by: str | None = None
    result: bytes | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def queued_ms(self) -> int | None:
        """When the job was published: the time inside its id."""
        return created_ms(self.job_id)

    def to_json(self) -> dict[str, Any]:
        """The status as JSON-ready values (the result as base64), None fields left out."""
        # Not `dataclasses.asdict`: it deep-copies every value, and a worker writes two of
        # these per tracked job (measured at 40 us of asdict per status; this is about 2 us).
        fields = {name: getattr(self, name) for name in _FIELDS}
        if self.result is not None:
            fields["result"] = base64.b64encode(self.result).decode()
        return {key: value for key, value in fields.items() if value is not None}


_FIELDS = tuple(field.name for field in fields(JobStatus))


def unknown(job_id: str, why: Unknown) -> JobStatus:
    """The status of a job nothing is known about, with the reason (one of `UNKNOWN_WHY`)."""
    return JobStatus(job_id, "unknown", reason=f"{why}: {UNKNOWN_WHY[why]}")


def encode(status: JobStatus) -> bytes:
    """The value written to the status topic."""
    return encode_fields({"v": VERSION, **status.to_json()})


def encode_fields(fields: dict[str, Any]) -> bytes:
    """A status value from its JSON fields (`to_json`'s), as a writer on a hot path builds them.

    One encoder made once: `json.dumps` with `separators` builds a new one at every call.
    """
    return _ENCODER.encode(fields).encode()


def decode(value: bytes | None) -> JobStatus | None:
    """The status in a value, or None for one that is not a status (a tombstone, garbage)."""
    try:
        return _status(json.loads(value or b""))
    except (ValueError, TypeError, AttributeError):
        return None


def _status(fields: dict[str, Any]) -> JobStatus | None:
    """The status a value's fields describe; raises ValueError or TypeError on bad ones."""
    fields.pop("v", None)
    if fields.get("state") not in STATES:
        return None
    if "result" in fields:
        fields["result"] = base64.b64decode(fields["result"])
    return JobStatus(**fields)


def find(key: bytes | None, value: bytes | None, job_id: str) -> JobStatus | None:
    """The status of `job_id` in one record of the status topic, or None when it has none."""
    if key == job_id.encode():
        return decode(value)
    if key is None or not key.startswith(BATCH_PREFIX) or value is None:
        return None
    if quoted(job_id).encode() not in value:  # as a batch writes it: most hold other jobs
        return None
    return _from_batch(value, job_id)


def _from_batch(value: bytes, job_id: str) -> JobStatus | None:
    """`job_id`'s status in a batch: its entry, else its last plain `done` row.

    A writer puts a job in one of the two per batch; a reader ignores fields it does not know.
    """
    try:
        batch = json.loads(value)
        worker = batch.get("worker")
        entries = [entry for entry in batch.get("statuses", ()) if entry.get("job_id") == job_id]
        if entries:
            return _status({**entries[-1], "worker": worker})
        found = [rows for rows in batch.get("done", ()) if job_id in rows["job_ids"]]
        return _done_row(found[-1], job_id, worker, batch.get("clock_ms")) if found else None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None


def _done_row(
    rows: dict[str, Any], job_id: str, worker: str | None, clock_ms: float | None
) -> JobStatus:
    """The `done` of `job_id` in one job type's rows, the last of its rows when it has two."""
    ids: list[str] = rows["job_ids"]
    row = len(ids) - 1 - ids[::-1].index(job_id)
    attempts = rows.get("attempts")
    if "started" in rows:
        started = int(unpack_doubles(rows["started"])[row] * 1000.0 + float(clock_ms or 0))
        took = rows.get("took")
        finished = started + (int(unpack_doubles(took)[row] * 1000) if took else 0)
    else:  # written before the packed columns
        started = int(rows["started_ms"][row])
        took_ms = rows.get("took_ms")
        finished = started + (int(took_ms[row]) if took_ms else 0)
    return JobStatus(
        job_id,
        "done",
        job_type=str(rows["job_type"]),
        attempt=int(attempts[row]) if attempts else 1,
        at_ms=finished,
        worker=worker,
        started_ms=started,
        finished_ms=finished,
    )


def latest(current: JobStatus | None, found: JobStatus) -> JobStatus:
    """The status after `found`, read after `current` in the topic: the later one wins.

    Except `queued`: the publisher writes it from another producer than the worker's, so it
    may land after the job's `running` or even `done`; it never replaces a worker's record.
    """
    if current is None or found.state != "queued" or current.state == "queued":
        return found
    return current


def pack_doubles(values: list[float]) -> str:
    """`values` as little-endian IEEE doubles, base64: one C call for a whole column."""
    packed = array("d", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed).decode("ascii")


def unpack_doubles(text: str) -> "array[float]":
    """The doubles `pack_doubles` wrote."""
    packed = array("d", base64.b64decode(text, validate=True))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed


def partition_of(job_id: str, partitions: int) -> int:
    """The status topic partition of a job id: CRC-32 of its text, modulo the partitions."""
    return zlib.crc32(job_id.encode()) % partitions


def created_ms(job_id: str) -> int | None:
    """The creation time inside a UUIDv7 job id; None for anything else."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        return None
    return parsed.int >> 80 if parsed.version == 7 else None


def seek_time_ms(job_id: str, lookback_ms: int) -> int:
    """Where a lookup starts reading: `lookback_ms` before the id's time (0: the beginning)."""
    created = created_ms(job_id)
    return 0 if created is None else max(created - lookback_ms, 0)


def is_job_id(job_id: str) -> bool:
    try:
        uuid.UUID(job_id)
    except ValueError:
        return False
    return True
