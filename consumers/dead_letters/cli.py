"""`keel dlt list|show|replay`: the dead-letter tools on the command line.

Each streams the topic (`keel.consumers.dead_letters.api` is the same as calls), so a topic of
millions of records lists, and replays, in bounded memory. `--json` prints one JSON object per
line; a replay on a terminal shows a progress bar on stderr.
"""

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from keel.consumers.dead_letters import api, replay
from keel.consumers.dead_letters.reader import Letter, records_in
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
Limit = Annotated[int | None, typer.Option(min=0, help="At most this many records.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


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
    limit: Limit = None,
    as_json: AsJson = False,
) -> None:
    """One line per dead-lettered record: id, job type, reason, error, attempts, last failure."""
    selection = _selection(job_type, error_class, since, until)
    for listed in api.list_dead_letters(topic, selection=selection, limit=limit):
        if as_json:
            typer.echo(json.dumps(listed.summary()))
            continue
        h = listed.letter.headers
        typer.echo(
            f"{listed.letter.id:>10}  {h.get(DLT_JOB_TYPE, '') or '?':<28} "
            f"{h.get(DLT_REASON, ''):<20} {h.get(DLT_ERROR_CLASS, ''):<32} "
            f"attempts={h.get(DLT_ATTEMPTS, '')} {_when(h.get(DLT_LAST_FAILURE, ''))}"
            f"{'  (replayed)' if listed.replayed else ''}"
        )


@app.command()
def show(
    topic: Topic,
    record: Annotated[str, typer.Argument(help="partition:offset")],
    *,
    as_json: AsJson = False,
) -> None:
    """Every header of one dead-lettered record, its key, and its value's size."""
    try:
        letter = api.show(topic, record)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if letter is None:
        typer.echo(f"no record {record}", err=True)
        raise typer.Exit(1)
    if as_json:
        size = len(letter.value or b"")
        typer.echo(json.dumps({**api.summary(letter), "value_bytes": size, **_headers(letter)}))
        return
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
    limit: Limit = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be replayed; send nothing.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Send the selected dead letters back to their origin topic, each at most once."""
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        total = records_in(ClusterSettings(), replay.dead_letter_name(topic))
        task = progress.add_task("replaying" if not dry_run else "reading", total=total)

        def on_letter(letter: Letter) -> None:
            progress.update(task, advance=1)
            if dry_run:
                _echo_would_replay(letter, as_json=as_json)

        report = api.replay(
            topic,
            selection=_selection(job_type, error_class, since, until),
            limit=limit,
            rate=rate,
            dry_run=dry_run,
            on_letter=on_letter,
        )
    if as_json:
        typer.echo(json.dumps({"report": vars(report)}))
        return
    verb = "would replay" if dry_run else "replayed"
    typer.echo(
        f"{verb} {report.replayed}, already replayed {report.already_replayed}, "
        f"not selected {report.not_selected}"
    )


def _echo_would_replay(letter: Letter, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"would_replay": api.summary(letter)}))
    else:
        summary = api.summary(letter)
        typer.echo(f"would replay {letter.id} to {summary['origin_topic']} ({summary['reason']})")


def _headers(letter: Letter) -> dict[str, dict[str, str]]:
    return {"headers": letter.headers}
