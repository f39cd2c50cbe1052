"""One job's status as the console shows it: looked up by id, its times and result made readable.

The lookup is `keel.producers.status.StatusReader`'s, the same as `keel jobs status`: the
console knows no job models, so a result (Confluent-framed Avro) is decoded by its writer schema
from the registry, like a dead letter's body. An id that is not a UUID is refused before any
lookup (400, naming the field); a well-formed id nothing is known about is `unknown`, with why.
"""

import json
from dataclasses import dataclass

from keel.consumers.console.bodies import Body, BodyReader
from keel.producers.status.cli import as_document
from keel.schemas.status.record import JobStatus, is_job_id

# Shown in this order, each with its label; the times are as_document's ISO 8601 forms.
FIELDS = (
    ("state", "State"),
    ("job_type", "Job type"),
    ("attempt", "Attempt"),
    ("worker", "Worker"),
    ("queued", "Queued"),
    ("started", "Started"),
    ("finished", "Finished"),
    ("next_attempt", "Next attempt"),
    ("at", "Recorded"),
    ("error", "Error"),
    ("reason", "Reason"),
    ("blocked_by", "Blocked by"),
)


class MalformedJobIdError(ValueError):
    """An id that cannot be a job id: the console answers 400 and names `field`."""

    def __init__(self, field: str, job_id: str) -> None:
        super().__init__(f"{field}: not a job id (a UUID): {job_id!r}")


def checked(field: str, job_id: str) -> str:
    """`job_id` without surrounding blanks, if it is a UUID; raises MalformedJobIdError."""
    stripped = job_id.strip()
    if not is_job_id(stripped):
        raise MalformedJobIdError(field, job_id)
    return stripped


@dataclass(frozen=True)
class JobView:
    """A status as shown: its fields by name (only those recorded) and its decoded result."""

    status: JobStatus
    fields: dict[str, object]
    result: Body | None

    @property
    def known(self) -> bool:
        return self.status.state != "unknown"

    def rows(self) -> list[tuple[str, str, object]]:
        """(name, label, value) for each recorded field, in FIELDS' order."""
        return [(name, label, self.fields[name]) for name, label in FIELDS if name in self.fields]

    @property
    def blocker_link(self) -> str | None:
        """The page of the job a parked job waits behind, when it is named by its id."""
        blocker = self.status.blocked_by
        return f"/jobs/{blocker}" if blocker is not None and is_job_id(blocker) else None

    def as_json(self) -> dict[str, object]:
        """The fields of `keel jobs status --json`, the result decoded when it is Avro."""
        document = dict(self.fields)
        if self.result is not None:
            document["result"] = _result_value(self.result)
            document["result_read_as"] = self.result.read_as
        return document


def view(status: JobStatus, bodies: BodyReader) -> JobView:
    """`status` made readable, its result decoded by its writer schema."""
    fields = as_document(status)
    fields.pop("result", None)
    result = None if status.result is None else bodies.read(status.result)
    return JobView(status, fields, result)


def _result_value(body: Body) -> object:
    """The decoded record for an Avro result, else the text it was shown as."""
    if body.read_as.startswith("avro") and body.problem is None:
        return json.loads(body.text)
    return body.text
