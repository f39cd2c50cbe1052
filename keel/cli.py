"""The root of the `keel` command line; each package contributes its own typer group."""

import typer

from consumers.cli import run_worker
from consumers.dlt_cli import app as dlt_app
from deploy.local.cli import app as broker_app

app = typer.Typer(help="keel: background jobs on Apache Kafka.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")
app.command("worker")(run_worker)
app.add_typer(dlt_app, name="dlt")


def main() -> None:
    app()
