"""The root of the `keel` command line; each package contributes its own typer group."""

import typer

from consumers.cli import run_worker
from deploy.local.cli import app as broker_app

app = typer.Typer(help="keel: background jobs on Apache Kafka.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")
app.command("worker")(run_worker)


def main() -> None:
    app()
