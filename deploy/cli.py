"""`keel deploy topics`: manifests generated from keel's own settings."""

from typing import Annotated

import typer

from keel.deploy.strimzi import TopicPolicy, kafka_topics, render
from keel.producers.settings import NO_ROUTES, ProducerSettings

app = typer.Typer(help="Generate deployment manifests from keel's settings.")


@app.command()
def topics(
    cluster: Annotated[str, typer.Option(help="The Strimzi Kafka cluster's name.")] = "keel",
    replicas: Annotated[int, typer.Option(min=1)] = 3,
    min_insync_replicas: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Print Strimzi KafkaTopic manifests for every routed topic and its dead-letter topic."""
    if min_insync_replicas > replicas:
        raise typer.BadParameter("min-insync-replicas cannot exceed replicas")
    routed = ProducerSettings().topics()
    if not routed:  # an empty manifest file would deploy nothing, silently
        typer.echo(f"error: {NO_ROUTES}", err=True)
        raise typer.Exit(2)
    policy = TopicPolicy(cluster, replicas, min_insync_replicas)
    typer.echo(render(kafka_topics(routed, policy)), nl=False)
