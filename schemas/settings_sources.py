"""Two places besides the environment that `ClusterSettings` reads: a client properties file and
secret files.

- `KAFKA_CLIENT_PROPERTIES=/path/client.properties`: the file Confluent Cloud (and others) hand
  out, in Java's .properties format with librdkafka's dotted keys (`bootstrap.servers`,
  `sasl.mechanisms`, `basic.auth.user.info`, `schema.registry.url`, ...). It sits below the
  environment: a variable that is set wins over the file's key.
- `<SECRET>_FILE=/path`: a secret's value is the content of that file (a mounted Kubernetes
  Secret, a Docker secret), without its trailing line break. Only the secret settings take a
  `_FILE`; naming both `<SECRET>` and `<SECRET>_FILE` is an error, as the choice would be a guess.
"""

import os
from pathlib import Path
from typing import Any

import javaproperties
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError

PROPERTIES_VARIABLE = "KAFKA_CLIENT_PROPERTIES"
FILE_SUFFIX = "_FILE"

# A properties file's key -> the ClusterSettings field it sets. librdkafka spells the mechanism
# both `sasl.mechanism` and `sasl.mechanisms`; Confluent Cloud's files use the plural.
PROPERTY_FIELDS = {
    "bootstrap.servers": "kafka_bootstrap_servers",
    "security.protocol": "kafka_security_protocol",
    "sasl.mechanism": "kafka_sasl_mechanism",
    "sasl.mechanisms": "kafka_sasl_mechanism",
    "sasl.username": "kafka_sasl_username",
    "sasl.password": "kafka_sasl_password",
    "sasl.oauthbearer.client.id": "kafka_sasl_oauthbearer_client_id",
    "sasl.oauthbearer.client.secret": "kafka_sasl_oauthbearer_client_secret",
    "sasl.oauthbearer.token.endpoint.url": "kafka_sasl_oauthbearer_token_endpoint_url",
    "sasl.oauthbearer.scope": "kafka_sasl_oauthbearer_scope",
    "ssl.ca.location": "kafka_ssl_ca_location",
    "ssl.certificate.location": "kafka_ssl_certificate_location",
    "ssl.key.location": "kafka_ssl_key_location",
    "ssl.key.pem": "kafka_ssl_key_pem",
    "ssl.key.password": "kafka_ssl_key_password",
    "ssl.endpoint.identification.algorithm": "kafka_ssl_endpoint_identification_algorithm",
    "schema.registry.url": "schema_registry_url",
    "basic.auth.user.info": "schema_registry_basic_auth_user_info",
    "bearer.auth.token": "schema_registry_bearer_token",
    "bearer.auth.logical.cluster": "schema_registry_bearer_logical_cluster",
    "bearer.auth.identity.pool.id": "schema_registry_bearer_identity_pool_id",
    "schema.registry.ssl.ca.location": "schema_registry_ssl_ca_location",
    "schema.registry.ssl.certificate.location": "schema_registry_ssl_certificate_location",
    "schema.registry.ssl.key.location": "schema_registry_ssl_key_location",
    "schema.registry.ssl.key.password": "schema_registry_ssl_key_password",
}
# The only credential sources keel's registry client has: user info, or a static bearer token.
_CREDENTIAL_SOURCES = {
    "basic.auth.credentials.source": {"USER_INFO"},
    "bearer.auth.credentials.source": {"STATIC_TOKEN"},
}


class ClientPropertiesSource(PydanticBaseSettingsSource):
    """The cluster keys of the properties file named by `kafka_client_properties`, if any.

    Keys it does not know (a role's `acks`, `session.timeout.ms`, ...) are left out: the file
    describes the cluster, and each role keeps its own settings.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], *named_by: PydanticBaseSettingsSource
    ) -> None:
        super().__init__(settings_cls)
        self._named_by = named_by

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        path = self._path()
        if path is None:
            return {}
        properties = _read(path)
        _refuse_what_keel_cannot_use(properties)
        return {PROPERTY_FIELDS[k]: v for k, v in properties.items() if k in PROPERTY_FIELDS}

    def _path(self) -> str | None:
        for source in self._named_by:
            named = source().get("kafka_client_properties")
            if named:
                return str(named)
        return None


class SecretFilesSource(PydanticBaseSettingsSource):
    """`<SECRET>_FILE` variables: each secret field's value read from the file it names."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = field_name.upper()
        path = os.environ.get(variable + FILE_SUFFIX)
        if path is None or not _is_secret(field):
            return None, field_name, False
        if variable in os.environ:
            raise SettingsError(f"both {variable} and {variable}{FILE_SUFFIX} are set: keep one")
        return _read_secret(variable + FILE_SUFFIX, Path(path)), field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, name)
            if value is not None:
                found[name] = value
        return found


def secret_fields(settings_cls: type[BaseSettings]) -> list[str]:
    """The names of the fields that hold a secret, i.e. those that accept `<NAME>_FILE`."""
    return [name for name, field in settings_cls.model_fields.items() if _is_secret(field)]


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in getattr(field.annotation, "__args__", (field.annotation,))


def _read(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as file:
            return dict(javaproperties.load(file))
    except OSError as error:
        raise SettingsError(f"{PROPERTIES_VARIABLE}={path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{PROPERTIES_VARIABLE}={path}: not UTF-8 text") from None


def _read_secret(variable: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise SettingsError(f"{variable}={path}: {error.strerror}") from None


def _refuse_what_keel_cannot_use(properties: dict[str, str]) -> None:
    """Keys that say the cluster wants something keel's clients cannot do: a clear stop."""
    for key, accepted in _CREDENTIAL_SOURCES.items():
        if properties.get(key, next(iter(accepted))) not in accepted:
            raise SettingsError(
                f"{PROPERTIES_VARIABLE}: {key}={properties[key]} is not supported "
                f"(keel's registry client takes {', '.join(sorted(accepted))})"
            )
    if "sasl.jaas.config" in properties and "sasl.username" not in properties:
        raise SettingsError(
            f"{PROPERTIES_VARIABLE}: sasl.jaas.config is the Java client's key; keel's clients "
            "(librdkafka) read sasl.username and sasl.password: use the file made for "
            "librdkafka, Python or Go clients"
        )
