"""`keel topics` and `keel schemas`: the topics and the contract of the routed job types.

The schemas commands work on the service's own schema directory: `--schemas`, else its
`[tool.keel]` settings or the environment (`keel.schemas.project`).
"""

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from keel.producers.delayed.loop import ensure_delayed_topics
from keel.producers.delayed.names import DelayedNames
from keel.producers.demo import demo_routes_json, publish_demo, unrouted_demo_jobs
from keel.producers.publisher import Publisher
from keel.producers.settings import NO_ROUTES, ProducerSettings
from keel.producers.topics import ensure_topics, with_dead_letters
from keel.producers.worker_beats import ensure_beats_topic
from keel.schemas import asyncapi, avsc, clients, evolution, generate, schema_registry
from keel.schemas.asyncapi import Channel
from keel.schemas.catalog import contract_text
from keel.schemas.demo import demo_catalog
from keel.schemas.errors import ContractError, KeelError
from keel.schemas.project import ProjectSettings
from keel.schemas.settings import ClusterSettings

topics_app = typer.Typer(help="Kafka topics of the routed job types.", no_args_is_help=True)
schemas_app = typer.Typer(help="The Avro job contract.", no_args_is_help=True)


_DELAYED = typer.Option(
    False, "--delayed", help="Also the delayed jobs' topics (KEEL_DELAYED_TOPIC and .cancels)."
)


_STATUS = typer.Option(
    False, "--status", help="Also the job status topic (KEEL_STATUS_TOPIC, docs/status.md)."
)


@topics_app.command("ensure")
def ensure(delayed: bool = _DELAYED, status: bool = _STATUS) -> None:
    """Create every routed job topic and its dead-letter topic; report what was there.

    With no routes there is nothing to create, and a deploy step that creates nothing is
    misconfigured: it says how to set `KEEL_ROUTES` and exits 2. A topic the cluster refused
    to create is named with the reason (a missing Create ACL), and the exit status is 1.
    """
    cluster, settings = ClusterSettings(), ProducerSettings()
    if not settings.routes:
        typer.secho(f"error: {NO_ROUTES}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    admin = clients.admin(cluster)
    wanted = with_dead_letters(settings.topics())
    report = ensure_topics(admin, wanted, settings.replication_factor)
    if delayed:  # the delayed jobs' topics (docs/scheduling.md), for `delay=` and `eta=`
        wanted |= DelayedNames(settings.delayed_topic).partitions()
        report.add(ensure_delayed_topics(cluster, settings))
    # Where workers publish their heartbeats (`keel workers`, the console).
    wanted |= ensure_beats_topic(admin, report, settings.replication_factor)
    if status:  # compacted by job id, deleted after KEEL_STATUS_RETENTION_MS
        kept = settings.status
        wanted[kept.topic] = kept.partitions
        rf = settings.replication_factor
        report.add(ensure_topics(admin, {kept.topic: kept.partitions}, rf, kept.topic_config()))
    for name in report.created:
        typer.echo(f"created {name} ({wanted[name]} partitions)")
    for name in report.found:
        typer.echo(f"found   {name}")
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    for name, why in report.refused.items():
        typer.secho(f"not created {name}: {why}", fg=typer.colors.RED, err=True)
    if report.refused:
        raise typer.Exit(1)


_SCHEMAS = typer.Option(
    None, "--schemas", help="Schema directory [default: [tool.keel] schemas_dir, or avro/]."
)
_MODULE = typer.Option(
    None, "--module", help="Generated module [default: [tool.keel] jobs_module, or jobs.py]."
)
_TYPES = typer.Option([], "--type", help="Only this job type (Avro full name); repeatable.")
_OUTPUT = typer.Option(None, "--output", "-o", help="File to write [default: stdout].")


@schemas_app.command("generate")
def generate_models(schemas: Path | None = _SCHEMAS, module: Path | None = _MODULE) -> None:
    """Write the job models generated from the schema directory's .avsc files."""
    project = ProjectSettings()
    target = project.module_path(module)
    with _contract_errors():
        result = generate.generate(project.schema_directory(schemas), target)
    typer.echo(f"{target}: {'written' if result.changed else 'up to date'}")
    if not result.formatted:
        typer.echo("ruff not found: the module is written as generated, unformatted", err=True)


@schemas_app.command("check")
def check(schemas: Path | None = _SCHEMAS, types: list[str] = _TYPES) -> None:
    """Check each schema against the versions kept in the repo and against the registry."""
    cluster, settings = ClusterSettings(), ProducerSettings()
    failed = False
    for schema_file in _contract(schemas, types):
        route = settings.routes.get(schema_file.name)
        if route is None:
            typer.echo(f"skip    {schema_file.name}: no route in KEEL_ROUTES")
            continue
        subject = schema_registry.subject_name(route.topic, schema_file.name)
        verdicts = evolution.check_history(
            subject,
            schema_file.schema,
            evolution.history(schema_file.path),
            settings.compatibility_of(subject),
        )
        online = _registry_verdict(cluster, subject, contract_text(schema_file.schema))
        for verdict in [*verdicts, *([online] if online else [])]:
            failed |= not verdict.compatible
            _show(verdict)
    if failed:
        raise typer.Exit(1)


@schemas_app.command("register")
def register(schemas: Path | None = _SCHEMAS, types: list[str] = _TYPES) -> None:
    """Set each routed subject's compatibility level, then register its schema."""
    cluster, settings = ClusterSettings(), ProducerSettings()
    contract = _contract(schemas, types)
    with clients.registry(cluster) as client:
        for schema_file in contract:
            route = settings.routes.get(schema_file.name)
            if route is None:
                typer.echo(f"skip    {schema_file.name}: no route in KEEL_ROUTES")
                continue
            subject = schema_registry.subject_name(route.topic, schema_file.name)
            try:
                client.set_compatibility(subject, settings.compatibility_of(subject))
                schema_id = schema_registry.register(
                    client, subject, contract_text(schema_file.schema)
                )
            except KeelError as error:
                typer.secho(f"refused {subject}: {error}", fg=typer.colors.RED, err=True)
                raise typer.Exit(1) from error
            typer.echo(f"registered {subject} (id {schema_id})")


@schemas_app.command("asyncapi")
def asyncapi_document(
    schemas: Path | None = _SCHEMAS,
    types: list[str] = _TYPES,
    output: Path | None = _OUTPUT,
) -> None:
    """Write an AsyncAPI 3.0 document of the routed job types: topics, Avro messages, headers."""
    settings, project = ProducerSettings(), ProjectSettings()
    contract = _contract(schemas, types)
    routes = {name: Channel(r.topic, r.partitions) for name, r in settings.routes.items()}
    for name in sorted({f.name for f in contract} - set(routes)):
        typer.echo(f"skip    {name}: no route in KEEL_ROUTES", err=True)
    title, version = project.identity()
    text = json.dumps(asyncapi.document(contract, routes, title, version), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"{output}: written", err=True)


def _contract(schemas: Path | None, types: list[str]) -> list[avsc.SchemaFile]:
    """The service's schema files (only `types`, if named); a bad directory or file exits 2."""
    with _contract_errors():
        directory = ProjectSettings().schema_directory(schemas)
        return avsc.select(avsc.read_directory(directory), types)


@contextmanager
def _contract_errors() -> Iterator[None]:
    """A contract that cannot be read is the caller's input: one line, exit status 2."""
    try:
        yield
    except ContractError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


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
    """Publish a steady stream of the demo jobs (emails, payments, reports).

    The demo's topics come from `KEEL_ROUTES`, as every service's do (`keel.producers.demo`).
    """
    settings = ProducerSettings()
    unrouted = unrouted_demo_jobs(settings)
    if unrouted:
        typer.secho(
            f"error: no route for {', '.join(unrouted)}; the demo runs with "
            f"KEEL_ROUTES='{demo_routes_json()}'",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    # SIGTERM (from `make run`, or a container stop) ends the stream like Ctrl-C: flushed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with Publisher(settings=settings, catalog=demo_catalog()) as publisher:
        try:
            sent = publish_demo(publisher, rate, jobs)
        except KeyboardInterrupt:
            sent = -1
    typer.echo("demo producer stopped" if sent < 0 else f"published {sent} jobs")
