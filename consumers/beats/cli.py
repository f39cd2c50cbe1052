"""`keel workers [--group G] [--json]`: every worker process that beats, with what it runs now."""

import json
import time
from typing import Annotated

import typer

from keel.consumers.beats.reader import WorkerView, read_workers
from keel.consumers.pipeline.observer import DEAD_LETTERED, FAILED, PROCESSED
from keel.schemas.settings import ClusterSettings

_COLUMNS = "GROUP  WORKER  STATE  AGE  RUNNING  BUFFERED  DONE/S  FAILED/S  DLT/S  DONE  PARTITIONS"


def show_workers(
    group: Annotated[str | None, typer.Option(help="Only this consumer group's workers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
) -> None:
    """List the worker processes that publish beats (KEEL_BEATS_TOPIC): live ones, and crashed
    ones as `gone` until they age out. Rates are per second, between a worker's last two beats."""
    found = read_workers(ClusterSettings(), group)
    if as_json:
        typer.echo(json.dumps([view.as_json() for view in found], indent=2))
        return
    if not found:
        typer.echo("no workers" + (f" in group {group}" if group else ""))
        return
    rows = [_COLUMNS.split("  "), *(_row(view) for view in found)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        typer.echo("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]))


def _row(view: WorkerView) -> list[str]:
    beat, rates = view.beat, view.rates
    return [
        beat.worker.group,
        str(beat.worker),
        view.state,
        _age(view.age),
        str(beat.running),
        str(beat.buffered),
        f"{rates.get(PROCESSED, 0.0):.1f}",
        f"{rates.get(FAILED, 0.0):.1f}",
        f"{rates.get(DEAD_LETTERED, 0.0):.1f}",
        str(beat.now.counts.get(PROCESSED, 0)),
        ",".join(f"{topic}[{p}]" for topic, p in beat.partitions) or "-",
    ]


def _age(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else time.strftime("%Hh%Mm", time.gmtime(seconds))
