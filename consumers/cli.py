"""`keel worker module:app` runs a worker; `keel dlt ...` inspects and replays dead letters."""

import asyncio
import sys
import time
from typing import Annotated

import typer

from keel.consumers import collector
from keel.consumers.app import App
from keel.consumers.runner import Worker, serve
from keel.consumers.telemetry.logs import configure_logging
from keel.producers.loading import load_target


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
) -> None:
    """Run the handlers of APP until SIGTERM or SIGINT, then drain, commit and leave.

    Logs are text or JSON lines as KEEL_WORKER_LOG_FORMAT says (see keel.consumers.telemetry.logs).
    """
    app = load_app(target)
    configure_logging(app.settings.log_format, "WARNING" if progress else log_level)
    collector.tune(app.settings.gc_threshold)
    asyncio.run(serve(app, handle_signals=True, on_start=_show_progress if progress else None))


def _show_progress(worker: Worker) -> None:
    asyncio.get_running_loop().create_task(_progress_line(worker))


async def _progress_line(worker: Worker) -> None:
    started = time.monotonic()
    metrics = worker.metrics
    while True:
        await asyncio.sleep(1.0)
        processed = metrics.total("processed")
        line = (
            f"\r{worker.group}: processed {processed}  retried {metrics.total('retried')}  "
            f"dead-lettered {metrics.total('dead_lettered')}  buffered {worker.engine.buffered}"
            f"  ({processed / max(time.monotonic() - started, 1e-9):.0f}/s)   "
        )
        sys.stderr.write(line)
        sys.stderr.flush()
