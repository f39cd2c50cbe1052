"""`keel scheduler run|status module:scheduler`: run a scheduler, or show where it stands."""

import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer

from keel.producers.loading import load_target
from keel.producers.scheduler.app import Scheduler
from keel.producers.scheduler.loop import run_scheduler
from keel.producers.scheduler.state import read_state
from keel.schemas.settings import ClusterSettings

scheduler_app = typer.Typer(
    help="Periodic jobs, published once per fire time however many schedulers run.",
    no_args_is_help=True,
)
Target = Annotated[str, typer.Argument(help="module:attribute naming a keel.producers.Scheduler")]


@scheduler_app.command("run")
def run(
    target: Target,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO",
) -> None:
    """Stand by, and publish the due jobs while this process is the leader; stop on SIGTERM."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    scheduler = _load(target)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_scheduler(scheduler, stop)


@scheduler_app.command("status")
def status(target: Target) -> None:
    """Each schedule: the fire times handled so far, and the next one."""
    scheduler = _load(target)
    state = read_state(ClusterSettings(), scheduler.state_topic)
    now = datetime.now(UTC)
    for schedule in scheduler.schedules:
        through = state.get(schedule.name)
        upcoming = schedule.trigger.next_after(max(through, now) if through else now)
        handled = through.isoformat() if through else "never led"
        typer.echo(f"{schedule.name}: handled through {handled}; next {upcoming.isoformat()}")


def _load(target: str) -> Scheduler:
    try:
        return load_target(target, Scheduler)
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(str(error)) from None
