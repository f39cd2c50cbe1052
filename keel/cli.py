"""The root of the `keel` command line; each package contributes its own typer group."""

import typer

from keel.consumers.cli import run_worker
from keel.consumers.dead_letters.cli import app as dlt_app
from keel.deploy.cli import app as deploy_app
from keel.deploy.local.cli import app as broker_app
from keel.load.cli import bench_app, load_app
from keel.producers.cli import demo, schemas_app, topics_app
from keel.producers.scheduler.cli import scheduler_app

app = typer.Typer(help="keel: background jobs on Apache Kafka.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.command("worker")(run_worker)
app.command("demo")(demo)
app.add_typer(dlt_app, name="dlt")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(bench_app, name="bench")
app.add_typer(load_app, name="load")
app.add_typer(deploy_app, name="deploy")


def main() -> None:
    app()
