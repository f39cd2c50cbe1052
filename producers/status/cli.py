"""`keel jobs status ID`: what was last recorded about a job, plain or as JSON.

Exits 0 with the status when one is found, 3 when the job is `unknown` (the reason says why),
so a script can tell the two apart without parsing.
"""

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from keel.producers.status.lookup import StatusReader
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.record import JobStatus
from keel.schemas.status.settings import StatusSettings

UNKNOWN_EXIT = 3
_TIMES = ("queued_ms", "started_ms", "finished_ms", "next_attempt_ms", "at_ms")


def job_status(
    job_id: Annotated[str, typer.Argument(help="The job id publish returned.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Show a job's status: queued, running, retrying, parked, done, dead_lettered, expired,
    cancelled or unknown."""
    status = StatusReader(ClusterSettings(), StatusSettings()).status(job_id)
    typer.echo(json.dumps(as_document(status)) if as_json else "\n".join(lines(status)))
    if status.state == "unknown":
        raise typer.Exit(UNKNOWN_EXIT)


def as_document(status: JobStatus) -> dict[str, object]:
    """The status as JSON: its fields, the queued time, and each time also as ISO 8601."""
    document: dict[str, object] = {**status.to_json(), "queued_ms": status.queued_ms}
    for name in _TIMES:
        value = document.get(name)
        if isinstance(value, int):
            document[name.removesuffix("_ms")] = _iso(value)
    return {key: value for key, value in document.items() if value is not None}


def lines(status: JobStatus) -> list[str]:
    """The status for a person: one `name: value` line per known field."""
    document = as_document(status)
    document.pop("result", None)
    shown = [f"{key}: {value}" for key, value in document.items() if not key.endswith("_ms")]
    if status.result is not None:
        shown.append(f"result: {len(status.result)} bytes of Avro (--json has it, base64)")
    return shown


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
