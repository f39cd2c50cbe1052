"""`keel broker start|stop|status|logs|reset`: the local Kafka broker and schema registry."""

from typing import Annotated

import typer

from keel.deploy.local.broker import LocalBroker
from keel.deploy.local.errors import MissingToolError, StackError
from keel.deploy.local.security import SUPER_USER, LocalSecurity
from keel.deploy.local.settings import LocalStackSettings
from keel.deploy.local.stack import LocalStack, ServerStatus
from keel.schemas.settings import ClusterSettings

app = typer.Typer(help="Run a local Apache Kafka broker and schema registry (no Docker needed).")


def _stack(secure: bool = False) -> LocalStack:
    """The configured stack, secured if asked to be or if its storage was formatted secured
    (the data directory keeps the mode it was formatted with until `keel broker reset`)."""
    settings = LocalStackSettings()
    if secure or LocalBroker(settings).recorded_security() == "sasl_ssl":
        settings = settings.model_copy(update={"security": "sasl_ssl"})
    return LocalStack(settings)


def _external_notice() -> bool:
    cluster = ClusterSettings()
    if cluster.is_external:
        typer.echo(
            "KAFKA_BOOTSTRAP_SERVERS/SCHEMA_REGISTRY_URL point at "
            f"{cluster.kafka_bootstrap_servers} and {cluster.schema_registry_url}: "
            "nothing local is started or stopped."
        )
    return cluster.is_external


def _print(statuses: list[ServerStatus]) -> None:
    for status in statuses:
        state = "ready" if status.ready else ("starting" if status.pid else "stopped")
        pid = f"pid {status.pid}" if status.pid else "no process"
        line = f"{status.name:<9} {state:<9} {status.endpoint:<24} {pid}"
        typer.echo(f"{line}  log {status.log_file}")


def _print_credentials(stack: LocalStack) -> None:
    if stack.settings.secured:
        security = LocalSecurity(stack.settings)
        typer.echo(
            f"SASL_SSL (SCRAM-SHA-512) only; super user {SUPER_USER!r}, password in "
            f"{security.password_file}, CA {security.ca_file}; "
            f"librdkafka client config: {security.client_properties_file}"
        )


@app.command()
def start(
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="SASL_SSL with SCRAM-SHA-512 and ACLs (as KEEL_LOCAL_SECURITY=sasl_ssl).",
        ),
    ] = False,
) -> None:
    """Start the broker and the registry (harmless if they already run) and wait until ready."""
    if _external_notice():
        return
    stack = _stack(secure)
    try:
        _print(stack.start())
        _print_credentials(stack)
    except MissingToolError as exc:  # a prerequisite, such as the 'local' extra's Java
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def stop() -> None:
    """Stop both servers: SIGTERM, wait, and SIGKILL only if they do not exit."""
    if _external_notice():
        return
    stopped = _stack().stop()
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status() -> None:
    """Show both servers; exits 1 unless both are ready."""
    if _external_notice():
        return
    statuses = _stack().status()
    _print(statuses)
    if not all(s.ready for s in statuses):
        raise typer.Exit(1)


@app.command()
def logs(
    server: Annotated[str, typer.Argument(help="broker or registry")] = "broker",
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
) -> None:
    """Print the last lines of a server's log."""
    servers = _stack().servers()
    if server not in servers:
        typer.echo(f"error: unknown server {server!r}; choose from {sorted(servers)}", err=True)
        raise typer.Exit(2)
    typer.echo(servers[server].log_tail(lines))


@app.command()
def reset() -> None:
    """Stop both servers and delete the local data directory."""
    settings = LocalStackSettings()
    LocalStack(settings).reset()
    typer.echo(f"removed {settings.data_dir}")
