"""Where the Kafka cluster and the schema registry are, and how every client proves who it is.

Read once, from (highest first) the arguments, the environment, `<SECRET>_FILE` files, and the
client properties file named by `KAFKA_CLIENT_PROPERTIES` (see `settings_sources`). With no
address set, keel talks to the local stack that `keel broker start` runs on its default ports;
setting one points every part of keel (CLI, producers, workers, tests) at an existing cluster
instead, and then nothing local starts.

Every variable is its field's name in capitals (`kafka_sasl_password` is read from
`KAFKA_SASL_PASSWORD`). `kafka_config()` and `registry_config()` turn the settings into
librdkafka's and the registry client's keys (`KAFKA_KEYS`, `REGISTRY_KEYS`); `shown_*` are the
same with every secret replaced by `REDACTED`, for anything a person or a log may read.
docs/security.md has the table and recipes for managed clusters.
"""

from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from keel.schemas.settings_checks import problems
from keel.schemas.settings_sources import ClientPropertiesSource, SecretFilesSource

LOCAL_BROKER_PORT = 19092
LOCAL_REGISTRY_PORT = 18081
# Apicurio serves the Confluent Schema Registry API under this path; Confluent, Karapace and
# Redpanda serve it at the root, so an external SCHEMA_REGISTRY_URL names its own base.
CCOMPAT_PATH = "/apis/ccompat/v7"
REDACTED = "********"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]

# Each setting -> the librdkafka key it becomes, in every producer, consumer and admin client.
KAFKA_KEYS = {
    "kafka_bootstrap_servers": "bootstrap.servers",
    "kafka_security_protocol": "security.protocol",
    "kafka_sasl_mechanism": "sasl.mechanism",
    "kafka_sasl_username": "sasl.username",
    "kafka_sasl_password": "sasl.password",
    "kafka_sasl_oauthbearer_client_id": "sasl.oauthbearer.client.id",
    "kafka_sasl_oauthbearer_client_secret": "sasl.oauthbearer.client.secret",
    "kafka_sasl_oauthbearer_token_endpoint_url": "sasl.oauthbearer.token.endpoint.url",
    "kafka_sasl_oauthbearer_scope": "sasl.oauthbearer.scope",
    "kafka_ssl_ca_location": "ssl.ca.location",
    "kafka_ssl_certificate_location": "ssl.certificate.location",
    "kafka_ssl_key_location": "ssl.key.location",
    "kafka_ssl_key_pem": "ssl.key.pem",
    "kafka_ssl_key_password": "ssl.key.password",
    "kafka_ssl_endpoint_identification_algorithm": "ssl.endpoint.identification.algorithm",
}
# Each setting -> the key confluent-kafka's SchemaRegistryClient takes.
REGISTRY_KEYS = {
    "schema_registry_url": "url",
    "schema_registry_basic_auth_user_info": "basic.auth.user.info",
    "schema_registry_bearer_token": "bearer.auth.token",
    "schema_registry_bearer_logical_cluster": "bearer.auth.logical.cluster",
    "schema_registry_bearer_identity_pool_id": "bearer.auth.identity.pool.id",
    "schema_registry_ssl_ca_location": "ssl.ca.location",
    "schema_registry_ssl_certificate_location": "ssl.certificate.location",
    "schema_registry_ssl_key_location": "ssl.key.location",
    "schema_registry_ssl_key_password": "ssl.key.password",
}

Entries = dict[str, str | SecretStr]


class ClusterSettings(BaseSettings):
    """The cluster every keel process talks to, and the credentials of all its clients."""

    # hide_input_in_errors: a validation error must not quote the values it was given.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    kafka_client_properties: str | None = None

    kafka_bootstrap_servers: str = f"127.0.0.1:{LOCAL_BROKER_PORT}"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_oauthbearer_client_id: str | None = None
    kafka_sasl_oauthbearer_client_secret: SecretStr | None = None
    kafka_sasl_oauthbearer_token_endpoint_url: str | None = None
    kafka_sasl_oauthbearer_scope: str | None = None
    kafka_ssl_ca_location: str | None = None
    kafka_ssl_certificate_location: str | None = None
    kafka_ssl_key_location: str | None = None
    kafka_ssl_key_pem: SecretStr | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_endpoint_identification_algorithm: Literal["https", "none"] | None = None

    schema_registry_url: str = f"http://127.0.0.1:{LOCAL_REGISTRY_PORT}{CCOMPAT_PATH}"
    schema_registry_basic_auth_user_info: SecretStr | None = None
    schema_registry_bearer_token: SecretStr | None = None
    schema_registry_bearer_logical_cluster: str | None = None
    schema_registry_bearer_identity_pool_id: str | None = None
    schema_registry_ssl_ca_location: str | None = None
    schema_registry_ssl_certificate_location: str | None = None
    schema_registry_ssl_key_location: str | None = None
    schema_registry_ssl_key_password: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then `*_FILE` secrets, then the properties file."""
        return (
            init_settings,
            env_settings,
            SecretFilesSource(settings_cls),
            ClientPropertiesSource(settings_cls, init_settings, env_settings),
        )

    @model_validator(mode="after")
    def _consistent(self) -> "ClusterSettings":
        found = problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self

    @property
    def is_external(self) -> bool:
        """True when the settings named a cluster, so the local stack must stay out of it."""
        return bool({"kafka_bootstrap_servers", "schema_registry_url"} & self.model_fields_set)

    def kafka_config(self) -> dict[str, Any]:
        """The cluster's part of every librdkafka client's configuration, in its dotted keys.

        Producers, consumers and admin clients all start from this (through
        `keel.schemas.clients`), so whatever a cluster asks of its clients is added here once.
        """
        return _revealed(self._kafka_entries())

    def registry_config(self) -> dict[str, Any]:
        """The configuration of every schema registry client, in confluent-kafka's keys."""
        return _revealed(self._registry_entries())

    def shown_kafka_config(self) -> dict[str, str]:
        """`kafka_config()` with every secret's value replaced by `REDACTED`."""
        return _redacted(self._kafka_entries())

    def shown_registry_config(self) -> dict[str, str]:
        """`registry_config()` with every secret's value replaced by `REDACTED`."""
        return _redacted(self._registry_entries())

    def __str__(self) -> str:
        """One line for a log: the clients' keys, secrets redacted."""
        kafka = " ".join(f"{k}={v}" for k, v in self.shown_kafka_config().items())
        registry = " ".join(f"{k}={v}" for k, v in self.shown_registry_config().items())
        return f"kafka {kafka}; registry {registry}"

    def _kafka_entries(self) -> Entries:
        entries = self._entries(KAFKA_KEYS)
        if self.kafka_sasl_mechanism == "OAUTHBEARER":
            # librdkafka fetches and refreshes the token itself (client credentials grant).
            entries["sasl.oauthbearer.method"] = "oidc"
        return entries

    def _registry_entries(self) -> Entries:
        entries = self._entries(REGISTRY_KEYS)
        if self.schema_registry_bearer_token is not None:
            entries["bearer.auth.credentials.source"] = "STATIC_TOKEN"
            # The client requires the key; only Confluent Cloud reads it (its lsrc-... id).
            entries.setdefault("bearer.auth.logical.cluster", "")
        return entries

    def _entries(self, keys: dict[str, str]) -> Entries:
        values = ((key, getattr(self, field)) for field, key in keys.items())
        return {key: value for key, value in values if value is not None}


def _revealed(entries: Entries) -> dict[str, Any]:
    return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in entries.items()}


def _redacted(entries: Entries) -> dict[str, str]:
    return {k: REDACTED if isinstance(v, SecretStr) else v for k, v in entries.items()}
