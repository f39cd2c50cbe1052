"""`keel deploy topics|users|scheduler|dispatcher`: manifests generated from keel's settings."""

from typing import Annotated, NoReturn

import typer

from keel.consumers.settings import WorkerSettings
from keel.deploy.strimzi import (
    DISPATCHER_HEADER,
    SCHEDULER_HEADER,
    USERS_HEADER,
    TopicPolicy,
    dispatcher_resources,
    kafka_topics,
    kafka_users,
    render,
    scheduler_resources,
)
from keel.producers.delayed.names import DelayedNames
from keel.producers.loading import load_target
from keel.producers.scheduler.app import Scheduler
from keel.producers.settings import NO_ROUTES, ProducerSettings

app = typer.Typer(help="Generate deployment manifests from keel's settings.")

Cluster = Annotated[str, typer.Option(help="The Strimzi Kafka cluster's name.")]
Replicas = Annotated[int, typer.Option(min=1)]
NO_GROUP = (
    "no group: KEEL_WORKER_GROUP_ID is unset, and the worker's group is what its user may read. "
    "Set it as the worker's deployment does."
)


@app.command()
def topics(
    cluster: Cluster = "keel", replicas: Replicas = 3, min_insync_replicas: Replicas = 2
) -> None:
    """Print Strimzi KafkaTopic manifests for every routed topic and its dead-letter topic."""
    policy = _policy(cluster, replicas, min_insync_replicas)
    typer.echo(render(kafka_topics(_routed(), policy)), nl=False)


@app.command()
def users(cluster: Cluster = "keel") -> None:
    """Print Strimzi KafkaUser manifests for the worker and a publisher, with their ACLs."""
    routed = _routed()
    worker = WorkerSettings()
    group = worker.group_id
    if not group:
        _fail(NO_GROUP)
    delayed = DelayedNames(ProducerSettings().delayed_topic)
    users = kafka_users(routed, group, delayed, cluster, worker.beats.topic)
    typer.echo(render(users, USERS_HEADER), nl=False)


@app.command()
def scheduler(
    target: Annotated[str, typer.Argument(help="module:attribute naming a Scheduler")],
    cluster: Cluster = "keel",
    replicas: Replicas = 3,
    min_insync_replicas: Replicas = 2,
) -> None:
    """Print the scheduler's state KafkaTopic and its KafkaUser, with its ACLs."""
    policy = _policy(cluster, replicas, min_insync_replicas)
    try:
        loaded = load_target(target, Scheduler)
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(str(error)) from None
    manifests = scheduler_resources(loaded, _routed(), policy)
    typer.echo(render(manifests, SCHEDULER_HEADER), nl=False)


@app.command()
def dispatcher(
    cluster: Cluster = "keel", replicas: Replicas = 3, min_insync_replicas: Replicas = 2
) -> None:
    """Print the delayed and cancels KafkaTopics and the dispatcher's KafkaUser."""
    policy = _policy(cluster, replicas, min_insync_replicas)
    names = DelayedNames(ProducerSettings().delayed_topic)
    manifests = dispatcher_resources(names, _routed(), policy)
    typer.echo(render(manifests, DISPATCHER_HEADER), nl=False)


def _policy(cluster: str, replicas: int, min_insync_replicas: int) -> TopicPolicy:
    if min_insync_replicas > replicas:
        raise typer.BadParameter("min-insync-replicas cannot exceed replicas")
    return TopicPolicy(cluster, replicas, min_insync_replicas)


def _routed() -> dict[str, int]:
    routed = ProducerSettings().topics()
    if not routed:  # an empty manifest file would deploy nothing, silently
        _fail(NO_ROUTES)
    return routed


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
