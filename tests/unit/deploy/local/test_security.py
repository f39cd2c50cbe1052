"""The secured broker's properties, files and client keys, checked without a JVM."""

from pathlib import Path

import pytest

from keel.deploy.local.broker import LocalBroker
from keel.deploy.local.errors import StaleDataDirError
from keel.deploy.local.java import JavaRuntime
from keel.deploy.local.security import AUTHORIZER, LocalSecurity
from keel.deploy.local.settings import LocalStackSettings, SecurityMode

_NO_JAVA = JavaRuntime(Path("/nonexistent/java"), 25, "test")


def _settings(tmp_path: Path, security: SecurityMode = "sasl_ssl") -> LocalStackSettings:
    return LocalStackSettings(
        data_dir=tmp_path,
        broker_port=21000,
        controller_port=21001,
        secure_port=21002,
        security=security,
    )


@pytest.fixture
def secured(tmp_path: Path) -> LocalBroker:
    broker = LocalBroker(_settings(tmp_path))
    broker.security.ensure()
    return broker


def test_clients_get_only_the_sasl_ssl_listener(secured: LocalBroker) -> None:
    properties = secured.properties()

    assert properties["listeners"] == ("SASL_SSL://127.0.0.1:21002,CONTROLLER://127.0.0.1:21001")
    assert properties["advertised.listeners"] == "SASL_SSL://127.0.0.1:21002"
    assert properties["listener.security.protocol.map"] == (
        "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    )
    assert properties["inter.broker.listener.name"] == "SASL_SSL"
    assert properties["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "21000" not in properties["listeners"]


def test_acls_are_enforced_with_one_super_user(secured: LocalBroker) -> None:
    properties = secured.properties()

    assert properties["authorizer.class.name"] == AUTHORIZER
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == "User:admin"


def test_the_broker_reads_its_pem_keystore_and_the_ca(secured: LocalBroker) -> None:
    properties = secured.properties()
    security = secured.security

    assert properties["ssl.keystore.type"] == "PEM"
    assert Path(properties["ssl.keystore.location"]) == security.keystore_file
    assert Path(properties["ssl.truststore.location"]) == security.ca_file


def test_the_plain_broker_keeps_its_plaintext_listener(tmp_path: Path) -> None:
    properties = LocalBroker(_settings(tmp_path, "plaintext")).properties()

    assert properties["listeners"] == ("PLAINTEXT://127.0.0.1:21000,CONTROLLER://127.0.0.1:21001")
    assert "authorizer.class.name" not in properties


def test_the_super_users_credential_is_added_at_format_time(secured: LocalBroker) -> None:
    password = secured.security.super_user_password()

    assert secured.security.format_arguments() == [
        "--add-scram",
        f"SCRAM-SHA-512=[name=admin,password={password},iterations=8192]",
    ]


def test_secrets_are_made_once_and_kept(secured: LocalBroker) -> None:
    security = secured.security
    before = [path.read_text() for path in (security.password_file, security.ca_file)]

    LocalSecurity(secured.settings).ensure()

    assert [path.read_text() for path in (security.password_file, security.ca_file)] == before


def test_the_client_config_verifies_the_local_ca(secured: LocalBroker) -> None:
    config = secured.security.client_config("alice", "wonderland")

    assert config == {
        "bootstrap.servers": "127.0.0.1:21002",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "wonderland",
        "ssl.ca.location": str(secured.security.ca_file),
    }
    written = secured.security.client_properties_file.read_text()
    assert f"sasl.password={secured.security.super_user_password()}" in written


def test_storage_formatted_plain_is_not_started_secured(tmp_path: Path) -> None:
    plain = LocalBroker(_settings(tmp_path, "plaintext"))
    log_dir = plain.home / "data"
    log_dir.mkdir(parents=True)
    (log_dir / "meta.properties").write_text("cluster.id=AlreadyFormattedPlain0\n")
    (plain.home / "cluster.id").write_text("AlreadyFormattedPlain0\n")

    with pytest.raises(StaleDataDirError, match="formatted for a plaintext broker") as refused:
        LocalBroker(_settings(tmp_path)).start(_NO_JAVA, tmp_path)

    assert "keel broker reset" in str(refused.value)
    assert plain.recorded_security() == "plaintext"
