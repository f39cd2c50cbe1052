"""Where the Kafka cluster and the schema registry are.

Read once from the environment. With neither variable set, keel talks to the local stack that
`keel broker start` runs on its default ports; setting them points every part of keel (CLI,
producers, workers, tests) at an existing cluster instead, and then nothing local starts.
"""

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_BROKER_PORT = 19092
LOCAL_REGISTRY_PORT = 18081
# Apicurio serves the Confluent Schema Registry API under this path; Confluent, Karapace and
# Redpanda serve it at the root, so an external SCHEMA_REGISTRY_URL names its own base.
CCOMPAT_PATH = "/apis/ccompat/v7"


class ClusterSettings(BaseSettings):
    """The two addresses every keel process needs: Kafka bootstrap servers and the registry."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = f"127.0.0.1:{LOCAL_BROKER_PORT}"
    schema_registry_url: str = f"http://127.0.0.1:{LOCAL_REGISTRY_PORT}{CCOMPAT_PATH}"

    @property
    def is_external(self) -> bool:
        """True when the environment named a cluster, so the local stack must stay out of it."""
        return bool({"kafka_bootstrap_servers", "schema_registry_url"} & self.model_fields_set)

    def kafka_config(self) -> dict[str, Any]:
        """The cluster's part of every librdkafka client's configuration, in its dotted keys.

        Producers, consumers and admin clients all start from this (through
        `keel.schemas.clients`), so whatever a cluster asks of its clients is added here once.
        """
        return {"bootstrap.servers": self.kafka_bootstrap_servers}

    def registry_config(self) -> dict[str, Any]:
        """The configuration of every schema registry client, in confluent-kafka's keys."""
        return {"url": self.schema_registry_url}
