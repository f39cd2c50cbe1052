"""`keel worker module:app` runs a worker; `keel dlt ...` inspects and replays dead letters."""

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from keel.consumers import collector
from keel.consumers.app import App
from keel.consumers.runner import Worker, serve
from keel.consumers.supervisor import child_settings, supervise
from keel.consumers.telemetry.child_logs import tag_child_logs
from keel.consumers.telemetry.logs import configure_logging
from keel.producers.loading import load_target
from keel.schemas.errors import RefusedError

TERMINAL_EVERY_S = 1.0  # the live line's redraw on a terminal
LOG_EVERY_S = 10.0  # a plain line of counts this often into a file or a pipe


def load_app(target: str) -> App:
    """The `App` named by `module:attribute`."""
    try:
        return load_target(target, App)
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(str(error)) from None


def run_worker(
    target: Annotated[str, typer.Argument(help="module:app, the App to run")],
    progress: Annotated[
        bool, typer.Option(help="Show one live line of counts instead of a log per event.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO",
    *,
    processes: Annotated[
        int, typer.Option(min=1, help="Worker processes in the group, under one supervisor.")
    ] = 1,
    child: Annotated[int | None, typer.Option(hidden=True)] = None,
    child_health_port: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the handlers of APP until SIGTERM or SIGINT, then drain, commit and leave.

    Logs are text or JSON lines as KEEL_WORKER_LOG_FORMAT says (see keel.consumers.telemetry.logs).
    With --processes N, N worker processes share the group (see keel.consumers.supervisor).
    """
    app = load_app(target)
    configure_logging(app.settings.log_format, "WARNING" if progress else log_level)
    if processes > 1:
        raise typer.Exit(supervise(target, processes, app.settings, log_level))
    if child is not None:  # started by the supervisor: its own health port, its index in logs
        app.configure(child_settings(app.settings, child, child_health_port))
        tag_child_logs(child, app.settings.log_format)
    collector.tune(app.settings.gc_threshold)
    try:
        asyncio.run(serve(app, handle_signals=True, on_start=_show_progress if progress else None))
    except RefusedError as error:  # credentials or ACLs: one line, no traceback, no retry
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _show_progress(worker: Worker) -> None:
    console = Console(stderr=True)
    every = TERMINAL_EVERY_S if console.is_terminal else LOG_EVERY_S
    started = time.monotonic()
    counts = functools.partial(_counts, worker, started)
    asyncio.get_running_loop().create_task(show_progress(counts, console, every))


async def show_progress(counts: Callable[[], str], console: Console, every: float) -> None:
    """`counts()` every `every` seconds until cancelled, as one line redrawn in place on a
    terminal, and as plain lines anywhere else: a log file or pipe never gets a carriage return.
    """
    if not console.is_terminal:
        while True:
            await asyncio.sleep(every)
            console.print(counts(), markup=False, highlight=False, soft_wrap=True)
    with Live(
        console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
    ) as live:
        while True:
            await asyncio.sleep(every)
            live.update(Text(counts()), refresh=True)


def _counts(worker: Worker, started: float) -> str:
    metrics = worker.metrics
    processed = metrics.total("processed")
    return (
        f"{worker.group}: processed {processed}  retried {metrics.total('retried')}  "
        f"dead-lettered {metrics.total('dead_lettered')}  buffered {worker.engine.buffered}"
        f"  ({processed / max(time.monotonic() - started, 1e-9):.0f}/s)"
    )
