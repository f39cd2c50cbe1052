"""A worker's status records, as cheap to make as they can be: one entry per tracked job and window.

A `Transition` is what the recorder keeps per job until its window ends (a job's `running`
becomes its `done` in place, so most jobs send one). `status_entry` writes a job's JSON object
and `batch_value` the record that carries a window's entries of one partition, as
`keel.schemas.status.record.find` reads them. Formatted directly: `json.dumps` of a dict
measured 5 times as long, and this runs once per tracked job on the worker's loop. Every string
goes through the json module's own C escaper, so any job id, type, error or reason is valid JSON.
"""

import base64
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as quoted

from keel.schemas.status.record import VERSION, JobState


@dataclass(slots=True)
class Transition:
    """One job's latest transition; a time of 0 is no time.

    Mutable: the `running` of an attempt becomes its `done` in place, so a job that starts and
    ends within one window costs one of these, and the window sends it once.
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
    box: list[object] | None = None  # where a result type's handler leaves its value


def batch_value(worker: str, entries: list[str]) -> bytes:
    """The value of a batch record: `entries` (`status_entry`'s), written by `worker`."""
    head = f'{{"v":{VERSION},"worker":{quoted(worker)},"statuses":['
    return (head + ",".join(entries) + "]}").encode()


def done_entry(job_id: str, job_type: str, attempt: int, started_ms: int, done_ms: int) -> str:
    """`status_entry` of a job done without a result or error: most jobs, so made directly."""
    return (
        f'{{"job_id":{quoted(job_id)},"state":"done","job_type":{quoted(job_type)},'
        f'"attempt":{attempt},"at_ms":{done_ms},"started_ms":{started_ms},"finished_ms":{done_ms}}}'
    )


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
