"""The root of the `keel` command line; each package contributes its own typer group.

The groups of an extra (keel.extras) are imported only when the command names them, so the
core install runs `keel worker` and the rest without the extras' packages.
"""

import sys
from typing import Annotated

import typer

from keel._version import __version__
from keel.consumers.beats.cli import show_workers
from keel.consumers.cli import run_worker
from keel.consumers.dead_letters.cli import app as dlt_app
from keel.deploy.cli import app as deploy_app
from keel.deploy.local.cli import app as broker_app
from keel.extras import OPTIONAL_GROUPS, MissingExtraError
from keel.producers.cli import demo, schemas_app, topics_app
from keel.producers.delayed.cli import dispatcher_app, jobs_app
from keel.producers.scheduler.cli import scheduler_app
from keel.producers.status.cli import job_status
from keel.schemas.config_cli import show_config

MISSING_EXTRA_STATUS = 2
# `keel jobs status`: registered once, here, beside the delayed jobs' commands of the group.
jobs_app.command("status")(job_status)


def _show_version(requested: bool) -> None:
    if requested:
        typer.echo(f"keel {__version__}")
        raise typer.Exit


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """keel: background jobs on Apache Kafka."""


def build(command: str) -> typer.Typer:
    """The command line, with the optional group named `command` (if any) imported for real.

    Raises `MissingExtraError` when that group's extra is not installed.
    """
    app = typer.Typer(no_args_is_help=True, callback=_root)
    app.add_typer(broker_app, name="broker")
    app.add_typer(topics_app, name="topics")
    app.add_typer(schemas_app, name="schemas")
    app.command("worker")(run_worker)
    app.command("workers")(show_workers)
    app.command("demo")(demo)
    app.add_typer(dlt_app, name="dlt")
    app.add_typer(scheduler_app, name="scheduler")
    app.add_typer(dispatcher_app, name="dispatcher")
    app.add_typer(jobs_app, name="jobs")
    for name, group in OPTIONAL_GROUPS.items():
        found = group.load(name) if name == command else group.placeholder()
        app.add_typer(found, name=name, help=group.summary)
    app.add_typer(deploy_app, name="deploy")
    app.command("config")(show_config)
    return app


# Every core command, with the optional groups as stand-ins: `build(name)` loads one for real.
app = build("")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        app = build(command)
    except MissingExtraError as missing:
        typer.echo(str(missing), err=True)
        raise SystemExit(MISSING_EXTRA_STATUS) from None
    app(prog_name="keel")
