"""A worker's status records, as cheap to make as they can be: one entry per tracked job and window.

A `Transition` is a job's transition other than a plain `done`; `status_entry` writes its JSON
object. The plain `done`s (no result, no error: most jobs) go by job type as columns,
`done_rows`: a row costs a job id and its times as packed doubles (`pack_doubles`), where an
object per job measured about 400 ns and a JSON number per time about 350 ns (turning the
engine's clock into epoch milliseconds, then into digits). `batch_value` is the record that
carries a window's entries and rows of one partition, as `keel.schemas.status.record.find`
reads them. Formatted directly: `json.dumps` of a dict measured 5 times as long, and this runs
for every tracked job on the worker's loop. Every string goes through the json module's own
escaper, so any job id, type, error or reason is valid JSON.
"""

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as quoted

from keel.schemas.status.record import VERSION, JobState, pack_doubles


@dataclass(slots=True)
class Transition:
    """One job's transition other than a plain `done`; a time of 0 is no time.

    Mutable: a result type's `done` gets its result (or the result's error) once it is built.
    """

    job_id: str
    state: JobState
    job_type: str
    attempt: int
    at_ms: int
    started_ms: int = 0
    finished_ms: int = 0
    next_attempt_ms: int = 0
    error: str | None = None
    reason: str | None = None
    result: bytes | None = None
    blocked_by: str | None = None  # a parked job's blocking job


# The ASCII bytes `quoted` escapes: an ASCII id without any is written as it is, so it
# reads exactly as `find` looks for it.
_ESCAPED = bytes(range(0x20)) + b'"\\\x7f'
_NUMBERS = json.JSONEncoder(separators=(",", ":")).encode  # made once: its C encoder is the speed


def batch_value(
    worker: str, entries: list[str], done: Sequence[str] = (), clock_ms: float = 0.0
) -> bytes:
    """The value of a batch record: `entries` (`status_entry`'s) and `done` (`done_rows`').

    `clock_ms`, written with the rows, is the epoch time in milliseconds at which the engine's
    clock read zero: what turns the rows' starts into times.
    """
    head = f'{{"v":{VERSION},"worker":{quoted(worker)},"statuses":['
    tail = f'],"clock_ms":{clock_ms!r},"done":[{",".join(done)}]}}' if done else "]}"
    return (head + ",".join(entries) + tail).encode()


def done_rows(
    job_type: str,
    job_ids: list[bytes],
    attempts: list[int],
    starts: list[float],
    took: list[float],
) -> str:
    """The plain `done`s of one job type as columns, a row per job in the order they ended.

    `job_ids` are the ids' header bytes; `starts` are on the engine's clock (seconds, the
    batch's `clock_ms` makes them times) and `took` is each handler's seconds. Both go as
    packed doubles: no per-row arithmetic or digits here, where the jobs whose status costs
    the most, in proportion, are the ones that take no time. `took` when every job took under
    a millisecond, and `attempts` all 1, are left out: a reader takes 0 and 1.
    """
    head = f'{{"job_type":{quoted(job_type)},"job_ids":{_ids(job_ids)}'
    if attempts.count(1) != len(attempts):
        head += f',"attempts":{_NUMBERS(attempts)}'
    if max(took, default=0.0) >= 0.001:
        head += f',"took":"{pack_doubles(took)}"'
    return f'{head},"started":"{pack_doubles(starts)}"}}'


def _ids(job_ids: list[bytes]) -> str:
    """`job_ids` as a JSON list; ids that are plain ASCII (UUIDs) are joined as they are."""
    together = b"".join(job_ids)
    if together.isascii() and len(together.translate(None, _ESCAPED)) == len(together):
        return '["' + b'","'.join(job_ids).decode("ascii") + '"]' if job_ids else "[]"
    return "[" + ",".join(quoted(raw.decode("utf-8", "replace")) for raw in job_ids) + "]"


def status_entry(transition: Transition) -> str:
    """The JSON object of `transition` inside a batch (the batch names its worker)."""
    t = transition
    text = (
        f'{{"job_id":{quoted(t.job_id)},"state":"{t.state}",'
        f'"job_type":{quoted(t.job_type)},"attempt":{t.attempt},"at_ms":{t.at_ms}'
    )
    if t.started_ms:
        text += f',"started_ms":{t.started_ms}'
    if t.finished_ms:
        text += f',"finished_ms":{t.finished_ms}'
    if t.next_attempt_ms:
        text += f',"next_attempt_ms":{t.next_attempt_ms}'
    if t.error is not None:
        text += f',"error":{quoted(t.error)}'
    if t.reason is not None:
        text += f',"reason":{quoted(t.reason)}'
    if t.blocked_by is not None:
        text += f',"blocked_by":{quoted(t.blocked_by)}'
    if t.result is not None:
        text += f',"result":"{base64.b64encode(t.result).decode()}"'
    return text + "}"
