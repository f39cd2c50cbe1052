"""`keel topics` and `keel schemas`: the topics and schemas of the routed job types."""

import json
import signal

import typer

from keel.producers.demo import publish_demo
from keel.producers.publisher import Publisher
from keel.producers.settings import ProducerSettings
from keel.producers.topics import ensure_topics, with_dead_letters
from keel.schemas import clients, evolution, generate, schema_registry
from keel.schemas.catalog import full_name, reference_catalog
from keel.schemas.errors import KeelError
from keel.schemas.settings import ClusterSettings

topics_app = typer.Typer(help="Kafka topics of the routed job types.", no_args_is_help=True)
schemas_app = typer.Typer(help="The Avro job contract.", no_args_is_help=True)


@topics_app.command("ensure")
def ensure() -> None:
    """Create every routed job topic and its dead-letter topic; report what was there."""
    cluster, settings = ClusterSettings(), ProducerSettings()
    admin = clients.admin(cluster)
    wanted = with_dead_letters(settings.topics())
    report = ensure_topics(admin, wanted, settings.replication_factor)
    for name in report.created:
        typer.echo(f"created {name} ({wanted[name]} partitions)")
    for name in report.found:
        typer.echo(f"found   {name}")
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)


@schemas_app.command("generate")
def generate_models() -> None:
    """Regenerate schemas/jobs.py from schemas/avro/*.avsc."""
    changed = generate.generate()
    typer.echo(f"{generate.MODULE_PATH}: {'written' if changed else 'up to date'}")


@schemas_app.command("check")
def check() -> None:
    """Check each schema against the versions kept in the repo and against the registry."""
    cluster, settings = ClusterSettings(), ProducerSettings()
    failed = False
    for avsc in sorted(generate.AVRO_DIR.glob("*.avsc")):
        current = json.loads(avsc.read_text())
        route = settings.routes.get(full_name(current))
        if route is None:
            continue
        subject = schema_registry.subject_name(route.topic, full_name(current))
        verdicts = evolution.check_history(
            subject, current, evolution.history(avsc), settings.compatibility_of(subject)
        )
        online = _registry_verdict(cluster, subject, json.dumps(current))
        for verdict in [*verdicts, *([online] if online else [])]:
            failed |= not verdict.compatible
            _show(verdict)
    if failed:
        raise typer.Exit(1)


@schemas_app.command("register")
def register() -> None:
    """Set each routed subject's compatibility level, then register its schema."""
    cluster, settings = ClusterSettings(), ProducerSettings()
    with clients.registry(cluster) as client:
        for job_type in reference_catalog():
            route = settings.routes.get(job_type.name)
            if route is None:
                continue
            subject = schema_registry.subject_name(route.topic, job_type.name)
            try:
                client.set_compatibility(subject, settings.compatibility_of(subject))
                schema_id = schema_registry.register(client, subject, job_type.schema_str)
            except KeelError as error:
                typer.secho(f"refused {subject}: {error}", fg=typer.colors.RED, err=True)
                raise typer.Exit(1) from error
            typer.echo(f"registered {subject} (id {schema_id})")


def _registry_verdict(
    cluster: ClusterSettings, subject: str, schema_str: str
) -> evolution.Verdict | None:
    verdict = evolution.check_registry(cluster, subject, schema_str)
    if verdict is None:
        typer.echo(f"new     {subject}: not registered yet")
    return verdict


def _show(verdict: evolution.Verdict) -> None:
    if verdict.compatible:
        typer.echo(f"ok      {verdict.subject} vs {verdict.against}")
        return
    typer.secho(f"BROKEN  {verdict.subject} vs {verdict.against}", fg=typer.colors.RED)
    for reason in verdict.reasons:
        typer.echo(f"        {reason}")


def demo(
    rate: float = typer.Option(20.0, min=0.1, max=10_000, help="Jobs per second."),
    jobs: int = typer.Option(0, min=0, help="Jobs to send; 0 sends until interrupted."),
) -> None:
    """Publish a steady stream of reference jobs (emails, payments, reports)."""
    # SIGTERM (from `make run`, or a container stop) ends the stream like Ctrl-C: flushed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with Publisher() as publisher:
        try:
            sent = publish_demo(publisher, rate, jobs)
        except KeyboardInterrupt:
            sent = -1
    typer.echo("demo producer stopped" if sent < 0 else f"published {sent} jobs")
