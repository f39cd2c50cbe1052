"""The secured local broker: its secrets on disk, its listeners, and how a client reaches it.

    <data_dir>/security/
      ca.pem              the throwaway CA: clients trust it (`ssl.ca.location`)
      broker.pem          the broker's key and certificate chain (Kafka's PEM keystore)
      admin.password      the super user's password (SCRAM-SHA-512, added at format time)
      client.properties   librdkafka keys that connect as the super user

All of it is made on the first secured start and kept until `keel broker reset`: the super
user's SCRAM credential lives in the formatted storage, so its password must outlive restarts.

The listeners, decided so that clients can only use the secured one:
- SASL_SSL (SCRAM-SHA-512 over TLS) on `secure_port`: every client, and inter-broker traffic.
- CONTROLLER (SASL_PLAINTEXT, PLAIN, on loopback) on `controller_port`: KRaft's own traffic.
  Kafka cannot authenticate a controller listener with SCRAM (the credentials live in the
  metadata the controller serves), so the node authenticates to itself with PLAIN, as the super
  user, whose password only the broker's own configuration holds.
No plain client listener is opened; `broker_port` stays unused while secured.

The registry, secured too, needs no identity server: Apicurio Registry 3.3 authenticates HTTP
basic credentials against Quarkus's embedded users, and serves HTTPS only (its plain port is not
opened) with the broker's certificate. The super user is its one user, with the admin role.
"""

import os
import secrets
from pathlib import Path

from keel.deploy.local.certificates import issue_server_credentials
from keel.deploy.local.settings import LocalStackSettings

SUPER_USER = "admin"
SCRAM_MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SECURE_LISTENER = "SASL_SSL"
_SCRAM_ITERATIONS = 8192
_PRIVATE = 0o600


class LocalSecurity:
    """The secrets of one secured stack instance, made once in its data directory."""

    def __init__(self, settings: LocalStackSettings) -> None:
        self.settings = settings
        self.directory = settings.data_dir / "security"
        self.ca_file = self.directory / "ca.pem"
        self.keystore_file = self.directory / "broker.pem"
        self.password_file = self.directory / "admin.password"
        self.client_properties_file = self.directory / "client.properties"

    def ensure(self) -> None:
        """Make whatever is missing: the super user's password, the CA and the server key."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.password_file.is_file():
            write_private(self.password_file, secrets.token_urlsafe(24) + "\n")
        if not (self.ca_file.is_file() and self.keystore_file.is_file()):
            credentials = issue_server_credentials("keel-local-broker")
            write_private(self.keystore_file, credentials.keystore)
            self.ca_file.write_text(credentials.ca_certificate)
        lines = [f"{key}={value}" for key, value in self.client_config().items()]
        write_private(self.client_properties_file, "\n".join(lines) + "\n")

    def super_user_password(self) -> str:
        return self.password_file.read_text().strip()

    def client_config(
        self, username: str = SUPER_USER, password: str | None = None
    ) -> dict[str, str]:
        """librdkafka keys that reach the secured listener as `username` (the super user's
        password unless one is given), verifying the broker against the local CA."""
        return {
            "bootstrap.servers": self.settings.bootstrap_servers,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": username,
            "sasl.password": self.super_user_password() if password is None else password,
            "ssl.ca.location": str(self.ca_file),
        }

    def registry_client_config(self) -> dict[str, str]:
        """The confluent-kafka registry client's keys for the secured registry, as the super
        user."""
        return {
            "url": self.settings.registry_url,
            "basic.auth.user.info": f"{SUPER_USER}:{self.super_user_password()}",
            "ssl.ca.location": str(self.ca_file),
        }

    def registry_properties(self) -> dict[str, str]:
        """Apicurio's (Quarkus's) settings for HTTPS and basic auth, kept out of `ps` output
        in the registry's `config/application.properties`."""
        return {
            "quarkus.http.auth.basic": "true",
            "apicurio.authn.mechanism.priority": "basic",
            "quarkus.security.users.embedded.plain-text": "true",
            f"quarkus.security.users.embedded.users.{SUPER_USER}": self.super_user_password(),
            f"quarkus.security.users.embedded.roles.{SUPER_USER}": "sr-admin",
            "quarkus.http.ssl-port": str(self.settings.registry_port),
            "quarkus.http.insecure-requests": "disabled",
            "quarkus.http.ssl.certificate.files": str(self.keystore_file),
            "quarkus.http.ssl.certificate.key-files": str(self.keystore_file),
        }

    def broker_properties(self) -> dict[str, str]:
        """The broker's listeners, TLS, SASL and authorizer settings when secured."""
        s = self.settings
        password = self.super_user_password()
        scram_login = _jaas("scram.ScramLoginModule", SUPER_USER, password)
        plain_login = _jaas(
            "plain.PlainLoginModule", SUPER_USER, password, f'user_{SUPER_USER}="{password}"'
        )
        listener = SECURE_LISTENER.lower()
        return {
            "listeners": f"{SECURE_LISTENER}://127.0.0.1:{s.secure_port},"
            f"CONTROLLER://127.0.0.1:{s.controller_port}",
            "advertised.listeners": f"{SECURE_LISTENER}://127.0.0.1:{s.secure_port}",
            "listener.security.protocol.map": f"{SECURE_LISTENER}:SASL_SSL,"
            "CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name": SECURE_LISTENER,
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            f"listener.name.{listener}.sasl.enabled.mechanisms": SCRAM_MECHANISM,
            f"listener.name.{listener}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": scram_login,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain_login,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore_file),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{SUPER_USER}",
        }

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that create the super user's SCRAM credential."""
        credential = (
            f"name={SUPER_USER},password={self.super_user_password()},"
            f"iterations={_SCRAM_ITERATIONS}"
        )
        return ["--add-scram", f"{SCRAM_MECHANISM}=[{credential}]"]


def _jaas(module: str, username: str, password: str, *extra: str) -> str:
    options = " ".join([f'username="{username}"', f'password="{password}"', *extra])
    return f"org.apache.kafka.common.security.{module} required {options};"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(_PRIVATE)  # an existing file keeps its mode through O_CREAT
