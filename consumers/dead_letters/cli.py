"""`keel dlt list|show|replay|release`: the dead-letter tools on the command line."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from keel.consumers.dead_letters import release, replay
from keel.schemas.headers import (
    DLT_ATTEMPTS,
    DLT_ERROR_CLASS,
    DLT_JOB_TYPE,
    DLT_LAST_FAILURE,
    DLT_REASON,
)
from keel.schemas.settings import ClusterSettings

app = typer.Typer(help="Inspect and replay dead-lettered jobs.", no_args_is_help=True)

Topic = Annotated[str, typer.Argument(help="A job topic, or its dead-letter topic (T.dlt).")]
JobType = Annotated[str | None, typer.Option(help="Only this job type (Avro full name).")]
ErrorClass = Annotated[
    str | None, typer.Option(help="Only this error class, e.g. builtins.OSError.")
]
Since = Annotated[str | None, typer.Option(help="Only failures at or after this ISO time.")]
Until = Annotated[str | None, typer.Option(help="Only failures before this ISO time.")]


def _selection(
    job_type: str | None, error_class: str | None, since: str | None, until: str | None
) -> replay.Selection:
    return replay.Selection(job_type, error_class, _millis(since), _millis(until))


def _millis(moment: str | None) -> int | None:
    if moment is None:
        return None
    parsed = datetime.fromisoformat(moment)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _when(millis: str) -> str:
    if not millis.isdigit():
        return "-"
    return datetime.fromtimestamp(int(millis) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
def list_letters(
    topic: Topic,
    *,
    job_type: JobType = None,
    error_class: ErrorClass = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """One line per dead-lettered record: id, job type, reason, error, attempts, last failure."""
    cluster = ClusterSettings()
    name = replay.dead_letter_name(topic)
    selected = _selection(job_type, error_class, since, until)
    done = replay.replayed_ids(cluster, name)
    for letter in filter(selected, replay.read_letters(cluster, name)):
        h = letter.headers
        typer.echo(
            f"{letter.id:>10}  {h.get(DLT_JOB_TYPE, '') or '?':<28} {h.get(DLT_REASON, ''):<20} "
            f"{h.get(DLT_ERROR_CLASS, ''):<32} attempts={h.get(DLT_ATTEMPTS, '')} "
            f"{_when(h.get(DLT_LAST_FAILURE, ''))}{'  (replayed)' if letter.id in done else ''}"
        )


@app.command()
def show(topic: Topic, record: Annotated[str, typer.Argument(help="partition:offset")]) -> None:
    """Every header of one dead-lettered record, its key, and its value's size."""
    cluster = ClusterSettings()
    letters = replay.read_letters(cluster, replay.dead_letter_name(topic))
    found = [x for x in letters if x.id == record]
    if not found:
        typer.echo(f"no record {record}", err=True)
        raise typer.Exit(1)
    letter = found[0]
    typer.echo(f"key: {letter.key!r}\nvalue: {len(letter.value or b'')} bytes")
    for name, value in letter.headers.items():
        typer.echo(f"{name}: {value}")


@app.command("replay")
def replay_letters(
    topic: Topic,
    *,
    job_type: JobType = None,
    error_class: ErrorClass = None,
    since: Since = None,
    until: Until = None,
    rate: Annotated[float | None, typer.Option(help="At most this many records a second.")] = None,
) -> None:
    """Send the selected dead letters back to their origin topic, each at most once."""
    cluster = ClusterSettings()
    report = replay.replay(
        cluster,
        replay.dead_letter_name(topic),
        _selection(job_type, error_class, since, until),
        rate,
    )
    typer.echo(
        f"replayed {report.replayed}, already replayed {report.already_replayed}, "
        f"not selected {report.not_selected}"
    )


@app.command("release")
def release_key(
    topic: Topic,
    key: Annotated[str, typer.Argument(help="The quarantined key, as text (UTF-8).")],
) -> None:
    """Let a quarantined key's parked jobs run without the job that blocks them."""
    report = release.release(ClusterSettings(), replay.dead_letter_name(topic), key.encode("utf-8"))
    if report.blocker is None:
        typer.echo(f"no dead letter has key {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"released {report.released} parked jobs held behind {report.blocker}")
