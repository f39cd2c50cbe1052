"""`keel dispatcher run` and `keel jobs pending|cancel`: delayed jobs from the command line."""

import json
import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer

from keel.producers.delayed.cancels import cancel_record
from keel.producers.delayed.health import HealthServer
from keel.producers.delayed.loop import run_dispatcher
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.pending import PendingJob, pending_jobs
from keel.producers.delayed.settings import DispatcherSettings
from keel.producers.delayed.status import DispatcherStatus
from keel.producers.publisher import Publisher
from keel.producers.settings import ProducerSettings
from keel.schemas.settings import ClusterSettings

dispatcher_app = typer.Typer(
    help="Delayed jobs: release each at its time, once, however many dispatchers run.",
    no_args_is_help=True,
)
jobs_app = typer.Typer(
    help="Jobs: delayed ones waiting for their time, and any job's status.", no_args_is_help=True
)


@dispatcher_app.command("run")
def run(log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO") -> None:
    """Stand by, and release due delayed jobs while this process is the leader; stop on SIGTERM."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    settings, status = DispatcherSettings(), DispatcherStatus()
    health = None
    if settings.health_port is not None:
        health = HealthServer(status, settings.health_host, settings.health_port).start()
    try:
        counts = run_dispatcher(stop, settings=settings, status=status)
    finally:
        if health is not None:
            health.close()
    typer.echo(f"dispatcher stopped: {counts.outcomes}")


@jobs_app.command("pending")
def pending(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Delayed jobs not yet released, earliest due first (cancelled ones left out)."""
    names = DelayedNames(ProducerSettings().delayed_topic)
    for job in pending_jobs(ClusterSettings(), names, limit):
        typer.echo(_json(job) if as_json else _line(job))


@jobs_app.command("cancel")
def cancel(job_id: Annotated[str, typer.Argument(help="The job id publish returned.")]) -> None:
    """Ask the dispatcher not to release a pending delayed job."""
    settings = ProducerSettings()
    with Publisher(settings=settings) as publisher:
        publisher.cancel(job_id)
    topic = cancel_record(DelayedNames(settings.delayed_topic), job_id).topic
    typer.echo(f"cancel for {job_id} written to {topic}")


def _due(job: PendingJob) -> str:
    return datetime.fromtimestamp(job.due_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _line(job: PendingJob) -> str:
    return f"{_due(job)}  {job.job_id}  {job.job_type} -> {job.topic}  key={job.key}"


def _json(job: PendingJob) -> str:
    return json.dumps(
        {
            "due": _due(job),
            "due_ms": job.due_ms,
            "job_id": job.job_id,
            "job_type": job.job_type,
            "topic": job.topic,
            "key": job.key,
        }
    )
