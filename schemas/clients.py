"""Every Kafka and schema registry client keel opens, built from `ClusterSettings`.

Like arq's `RedisSettings` + `create_pool`: settings in, client out. The cluster's part of a
configuration (where it is, and whatever else the cluster asks of its clients) comes from
`ClusterSettings.kafka_config()` or `registry_config()`, so it is written down once. A caller
passes only its role's own keys, in librdkafka's dotted names (`group.id`, `acks`,
`transactional.id`, ...); they are laid over the cluster's, so a role's key wins.

Nothing else in keel constructs a `Producer`, `Consumer`, `AdminClient` or
`SchemaRegistryClient` (a unit test reads the source to keep it so).
"""

from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.schemas.settings import ClusterSettings

Config = Mapping[str, Any]


def producer(cluster: ClusterSettings, config: Config | None = None) -> Producer:
    """A producer on `cluster`; `config` holds the role's keys (acks, transactional.id, ...)."""
    return Producer(_kafka(cluster, config))


def consumer(cluster: ClusterSettings, group: str, config: Config | None = None) -> Consumer:
    """A consumer of `group` on `cluster` (librdkafka requires a group even to only assign)."""
    return Consumer(_kafka(cluster, {"group.id": group, **(config or {})}))


def admin(cluster: ClusterSettings, config: Config | None = None) -> AdminClient:
    """An admin client on `cluster`, for topics and metadata."""
    return AdminClient(_kafka(cluster, config))


def registry(cluster: ClusterSettings) -> SchemaRegistryClient:
    """A schema registry client; a context manager, so `with` closes its connections."""
    return SchemaRegistryClient(cluster.registry_config())


def _kafka(cluster: ClusterSettings, config: Config | None) -> dict[str, Any]:
    return {**cluster.kafka_config(), **(config or {})}
