"""`keel config`: the cluster configuration every client gets, as it gets it, secrets redacted.

What it prints is what `keel.schemas.clients` passes to librdkafka and to the registry client
(the same `ClusterSettings`, read the same way), so a wrong variable or properties file shows
here before a worker fails to connect. No secret's value is printed: they read `********`.
"""

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from keel.schemas.settings import ClusterSettings

INVALID_STATUS = 2


def show_config() -> None:
    """Print the cluster configuration of every client (Kafka, then the registry), redacted."""
    try:
        cluster = ClusterSettings()
    except (ValidationError, SettingsError) as error:
        typer.echo(f"invalid cluster settings: {_reasons(error)}", err=True)
        raise typer.Exit(INVALID_STATUS) from None
    typer.echo("# Kafka: every producer, consumer and admin client (librdkafka keys)")
    for key, value in cluster.shown_kafka_config().items():
        typer.echo(f"{key}={value}")
    typer.echo("# schema registry client (confluent-kafka's SchemaRegistryClient keys)")
    for key, value in cluster.shown_registry_config().items():
        typer.echo(f"{key}={value}")


def _reasons(error: ValidationError | SettingsError) -> str:
    if isinstance(error, SettingsError):
        return str(error)
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])).upper() or 'settings'}: {e['msg']}" for e in error.errors()
    )
