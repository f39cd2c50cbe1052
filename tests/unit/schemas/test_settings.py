"""Cluster settings: each variable becomes its client key; files, secrets and bad combinations."""

from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from keel.schemas.settings import KAFKA_KEYS, REGISTRY_KEYS, ClusterSettings
from keel.schemas.settings_sources import PROPERTY_FIELDS, secret_fields

pytestmark = pytest.mark.usefixtures("clean_env")

PLAIN_KAFKA = {"bootstrap.servers": "127.0.0.1:19092", "security.protocol": "PLAINTEXT"}
PLAIN_REGISTRY = {"url": "http://127.0.0.1:18081/apis/ccompat/v7"}
SCRAM = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "worker",
    "KAFKA_SASL_PASSWORD": "s3cret",
}
# "{dir}" stands for a folder that holds ca.pem, client.pem and client.key.
MAPPING = [
    pytest.param({}, {}, {}, id="plain-local"),
    pytest.param(
        {"KAFKA_BOOTSTRAP_SERVERS": "b-1:9096", **SCRAM, "KAFKA_SSL_CA_LOCATION": "{dir}/ca.pem"},
        {
            "bootstrap.servers": "b-1:9096",
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "worker",
            "sasl.password": "s3cret",
            "ssl.ca.location": "{dir}/ca.pem",
        },
        {},
        id="scram-over-tls",
    ),
    pytest.param(
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": "u",
            "KAFKA_SASL_PASSWORD": "p",
        },
        {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "u",
            "sasl.password": "p",
        },
        {},
        id="plain-sasl",
    ),
    pytest.param(
        {
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CERTIFICATE_LOCATION": "{dir}/client.pem",
            "KAFKA_SSL_KEY_LOCATION": "{dir}/client.key",
            "KAFKA_SSL_KEY_PASSWORD": "kp",
            "KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "none",
        },
        {
            "security.protocol": "SSL",
            "ssl.certificate.location": "{dir}/client.pem",
            "ssl.key.location": "{dir}/client.key",
            "ssl.key.password": "kp",
            "ssl.endpoint.identification.algorithm": "none",
        },
        {},
        id="tls-client-certificate",
    ),
    pytest.param(
        {
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CERTIFICATE_LOCATION": "{dir}/client.pem",
            "KAFKA_SSL_KEY_PEM": "-----BEGIN PRIVATE KEY-----",
        },
        {
            "security.protocol": "SSL",
            "ssl.certificate.location": "{dir}/client.pem",
            "ssl.key.pem": "-----BEGIN PRIVATE KEY-----",
        },
        {},
        id="tls-key-text",
    ),
    pytest.param(
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "OAUTHBEARER",
            "KAFKA_SASL_OAUTHBEARER_CLIENT_ID": "keel",
            "KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET": "cs",
            "KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL": "https://idp/token",
            "KAFKA_SASL_OAUTHBEARER_SCOPE": "kafka",
        },
        {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "OAUTHBEARER",
            "sasl.oauthbearer.method": "oidc",
            "sasl.oauthbearer.client.id": "keel",
            "sasl.oauthbearer.client.secret": "cs",
            "sasl.oauthbearer.token.endpoint.url": "https://idp/token",
            "sasl.oauthbearer.scope": "kafka",
        },
        {},
        id="oauthbearer-oidc",
    ),
    pytest.param(
        {"SCHEMA_REGISTRY_URL": "https://sr", "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "key:sec"},
        {},
        {"url": "https://sr", "basic.auth.user.info": "key:sec"},
        id="registry-basic-auth",
    ),
    pytest.param(
        {
            "SCHEMA_REGISTRY_URL": "https://sr",
            "SCHEMA_REGISTRY_BEARER_TOKEN": "tok",
            "SCHEMA_REGISTRY_BEARER_LOGICAL_CLUSTER": "lsrc-1",
            "SCHEMA_REGISTRY_BEARER_IDENTITY_POOL_ID": "pool-1",
        },
        {},
        {
            "url": "https://sr",
            "bearer.auth.credentials.source": "STATIC_TOKEN",
            "bearer.auth.token": "tok",
            "bearer.auth.logical.cluster": "lsrc-1",
            "bearer.auth.identity.pool.id": "pool-1",
        },
        id="registry-bearer-token",
    ),
    pytest.param(
        {"SCHEMA_REGISTRY_URL": "https://sr", "SCHEMA_REGISTRY_BEARER_TOKEN": "tok"},
        {},
        {
            "url": "https://sr",
            "bearer.auth.credentials.source": "STATIC_TOKEN",
            "bearer.auth.token": "tok",
            "bearer.auth.logical.cluster": "",
        },
        id="registry-bearer-token-without-logical-cluster",
    ),
    pytest.param(
        {
            "SCHEMA_REGISTRY_URL": "https://sr",
            "SCHEMA_REGISTRY_SSL_CA_LOCATION": "{dir}/ca.pem",
            "SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION": "{dir}/client.pem",
            "SCHEMA_REGISTRY_SSL_KEY_LOCATION": "{dir}/client.key",
            "SCHEMA_REGISTRY_SSL_KEY_PASSWORD": "kp",
        },
        {},
        {
            "url": "https://sr",
            "ssl.ca.location": "{dir}/ca.pem",
            "ssl.certificate.location": "{dir}/client.pem",
            "ssl.key.location": "{dir}/client.key",
            "ssl.key.password": "kp",
        },
        id="registry-tls",
    ),
]


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("not parsed by the settings\n")
    return tmp_path


def _in(folder: Path, values: dict[str, str]) -> dict[str, str]:
    return {k: v.replace("{dir}", str(folder)) for k, v in values.items()}


def _from_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ClusterSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ClusterSettings()


@pytest.mark.parametrize(("env", "kafka", "registry"), MAPPING)
def test_each_setting_becomes_its_client_key(
    monkeypatch: pytest.MonkeyPatch,
    tls_dir: Path,
    env: dict[str, str],
    kafka: dict[str, str],
    registry: dict[str, str],
) -> None:
    cluster = _from_env(monkeypatch, _in(tls_dir, env))

    assert cluster.kafka_config() == {**PLAIN_KAFKA, **_in(tls_dir, kafka)}
    assert cluster.registry_config() == {**PLAIN_REGISTRY, **_in(tls_dir, registry)}


def test_every_client_key_is_in_the_mapping_table() -> None:
    fields = set(ClusterSettings.model_fields) - {"kafka_client_properties"}

    assert set(KAFKA_KEYS) | set(REGISTRY_KEYS) == fields
    assert set(PROPERTY_FIELDS.values()) == fields


def test_the_secrets_are_the_password_like_settings() -> None:
    assert sorted(secret_fields(ClusterSettings)) == [
        "kafka_sasl_oauthbearer_client_secret",
        "kafka_sasl_password",
        "kafka_ssl_key_password",
        "kafka_ssl_key_pem",
        "schema_registry_basic_auth_user_info",
        "schema_registry_bearer_token",
        "schema_registry_ssl_key_password",
    ]


CONFLUENT_CLOUD = """\
# Required connection configs for Kafka producer, consumer, and admin
bootstrap.servers=pkc-00000.eu-west-1.aws.confluent.cloud:9092
security.protocol=SASL_SSL
sasl.mechanisms=PLAIN
sasl.username=APIKEY
sasl.password=API+SECRET/with=signs

# Best practice for higher availability in librdkafka clients prior to 1.7
session.timeout.ms=45000

# Required connection configs for Confluent Cloud Schema Registry
schema.registry.url=https://psrc-00000.eu-central-1.aws.confluent.cloud
basic.auth.credentials.source=USER_INFO
basic.auth.user.info=SRKEY:SR+SECRET
"""


def test_a_confluent_cloud_properties_file_sets_the_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text(CONFLUENT_CLOUD)

    cluster = _from_env(monkeypatch, {"KAFKA_CLIENT_PROPERTIES": str(properties)})

    assert cluster.kafka_config() == {
        "bootstrap.servers": "pkc-00000.eu-west-1.aws.confluent.cloud:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "APIKEY",
        "sasl.password": "API+SECRET/with=signs",
    }
    assert cluster.registry_config() == {
        "url": "https://psrc-00000.eu-central-1.aws.confluent.cloud",
        "basic.auth.user.info": "SRKEY:SR+SECRET",
    }
    assert cluster.is_external


def test_the_environment_wins_over_the_properties_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text(CONFLUENT_CLOUD)
    secret = tmp_path / "password"
    secret.write_text("from-a-secret-file\n")

    cluster = _from_env(
        monkeypatch,
        {
            "KAFKA_CLIENT_PROPERTIES": str(properties),
            "KAFKA_SASL_USERNAME": "OTHERKEY",
            "KAFKA_SASL_PASSWORD_FILE": str(secret),
        },
    )

    assert cluster.kafka_config()["sasl.username"] == "OTHERKEY"
    assert cluster.kafka_config()["sasl.password"] == "from-a-secret-file"
    assert cluster.kafka_config()["sasl.mechanism"] == "PLAIN"


def test_an_argument_names_the_properties_file_too(tmp_path: Path) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text(CONFLUENT_CLOUD)

    cluster = ClusterSettings(kafka_client_properties=str(properties))

    assert cluster.kafka_config()["sasl.username"] == "APIKEY"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "basic.auth.credentials.source=SASL_INHERIT\n",
            "basic.auth.credentials.source=SASL_INHERIT is not supported",
            id="registry-credentials-from-sasl",
        ),
        pytest.param(
            "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache."
            "kafka.common.security.plain.PlainLoginModule required username='k' password='s';\n",
            "sasl.jaas.config is the Java client's key",
            id="java-client-file",
        ),
    ],
)
def test_a_properties_file_keel_cannot_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, message: str
) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text(text)
    monkeypatch.setenv("KAFKA_CLIENT_PROPERTIES", str(properties))

    with pytest.raises(SettingsError, match=message) as refused:
        ClusterSettings()

    assert "KAFKA_CLIENT_PROPERTIES" in str(refused.value)
    assert "'s'" not in str(refused.value)


def test_a_missing_properties_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_CLIENT_PROPERTIES", "/nowhere/client.properties")

    with pytest.raises(SettingsError, match=r"KAFKA_CLIENT_PROPERTIES=/nowhere/client\.properties"):
        ClusterSettings()


def test_a_secret_file_gives_the_secret_without_its_line_break(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "password").write_text("pa ss\n")
    (tmp_path / "user-info").write_text("key:secret")

    cluster = _from_env(
        monkeypatch,
        {
            **{k: v for k, v in SCRAM.items() if k != "KAFKA_SASL_PASSWORD"},
            "KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "password"),
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE": str(tmp_path / "user-info"),
        },
    )

    assert cluster.kafka_config()["sasl.password"] == "pa ss"
    assert cluster.registry_config()["basic.auth.user.info"] == "key:secret"


@pytest.fixture
def without_password(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in SCRAM.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD")
    return monkeypatch


def test_a_secret_and_its_file_together_are_refused(
    without_password: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "password").write_text("one")
    without_password.setenv("KAFKA_SASL_PASSWORD", "other")
    without_password.setenv("KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "password"))

    with pytest.raises(
        SettingsError, match="both KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE"
    ):
        ClusterSettings()


def test_an_unreadable_secret_file_is_named(without_password: pytest.MonkeyPatch) -> None:
    without_password.setenv("KAFKA_SASL_PASSWORD_FILE", "/nowhere/password")

    with pytest.raises(SettingsError, match="KAFKA_SASL_PASSWORD_FILE=/nowhere/password"):
        ClusterSettings()


def test_a_properties_file_that_is_not_text_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    properties = tmp_path / "client.properties"
    properties.write_bytes(b"sasl.password=\xff\xfe\n")
    monkeypatch.setenv("KAFKA_CLIENT_PROPERTIES", str(properties))

    with pytest.raises(SettingsError, match="not UTF-8 text") as refused:
        ClusterSettings()

    assert str(properties) in str(refused.value)
