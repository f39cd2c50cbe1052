"""No output keel makes without a broker shows a secret: the settings' repr and str, `keel
config`, a refused setting's error, the worker's log lines, and its health and metrics bodies.

The settings hold a known password, registry user info and private key text (a real key, for
the worker's producer is built at once); every rendering is searched for them.
"""

import asyncio
import datetime
import gc
import logging
import os
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from typer.testing import CliRunner

from keel import App, Context
from keel.cli import app as keel
from keel.consumers.runner import Worker
from keel.consumers.settings import WorkerSettings
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail
from keel.schemas.settings import REDACTED, ClusterSettings

PASSWORD = "pw-7f3a-never-shown"
REGISTRY_PASSWORD = "sr-91c2-never-shown"


def _client_key_and_certificate() -> tuple[str, str]:
    """A fresh private key (PEM text) and a self-signed certificate for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keel-worker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_text = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_text, certificate.public_bytes(serialization.Encoding.PEM).decode()


KEY_TEXT, CERTIFICATE = _client_key_and_certificate()
KEY_BODY = KEY_TEXT.splitlines()[1]  # a line of the key itself, not its BEGIN marker
SECRETS = (PASSWORD, REGISTRY_PASSWORD, KEY_BODY)


@pytest.fixture
def secured_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A secured cluster's variables, set in the environment; nothing listens at its address."""
    (tmp_path / "client.pem").write_text(CERTIFICATE)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "keel-worker",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CERTIFICATE_LOCATION": str(tmp_path / "client.pem"),
        "KAFKA_SSL_KEY_PEM": KEY_TEXT,
        "SCHEMA_REGISTRY_URL": "https://127.0.0.1:1",
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": f"keel:{REGISTRY_PASSWORD}",
    }
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _assert_hidden(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output


@pytest.mark.usefixtures("secured_env")
def test_the_settings_repr_and_str_hide_every_secret() -> None:
    cluster = ClusterSettings()
    worker = WorkerSettings(cluster=cluster)

    for shown in (repr(cluster), str(cluster), repr(worker), str(worker)):
        _assert_hidden(shown)
    assert f"sasl.password={REDACTED}" in str(cluster)
    assert cluster.kafka_config()["sasl.password"] == PASSWORD  # the client still gets it


@pytest.mark.usefixtures("secured_env")
def test_keel_config_prints_the_clients_keys_with_secrets_redacted() -> None:
    shown = CliRunner().invoke(keel, ["config"])

    assert shown.exit_code == 0, shown.output
    _assert_hidden(shown.output)
    lines = shown.output.splitlines()
    assert "sasl.username=keel-worker" in lines
    assert f"sasl.password={REDACTED}" in lines
    assert f"ssl.key.pem={REDACTED}" in lines
    assert f"basic.auth.user.info={REDACTED}" in lines


def test_keel_config_names_a_refused_setting_without_its_secret(
    secured_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")  # SASL mechanism without SASL

    shown = CliRunner().invoke(keel, ["config"])

    assert shown.exit_code == 2
    assert "KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs KAFKA_SECURITY_PROTOCOL" in shown.output
    _assert_hidden(shown.output)


@pytest.mark.usefixtures("secured_env")
def test_a_validation_error_shows_no_secret() -> None:
    with pytest.raises(ValidationError) as refused:
        ClusterSettings(kafka_sasl_mechanism="PLAIN", kafka_security_protocol="PLAINTEXT")

    _assert_hidden(str(refused.value))
    _assert_hidden(repr(refused.value))
    assert "KAFKA_SASL_MECHANISM=PLAIN" in str(refused.value)


@pytest.mark.usefixtures("secured_env")
async def test_the_worker_logs_health_and_metrics_show_no_secret(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    app = App("secrets", settings=WorkerSettings(topics=("jobs.secrets",), health_port=0))

    @app.handler(SendEmail)
    async def send(job: SendEmail, ctx: Context) -> None: ...

    caplog.set_level(logging.DEBUG)
    with clients.registry(app.settings.cluster) as registry:
        worker = Worker(app, app.settings, JobCodec(registry, app.catalog, auto_register=False))
        await worker.health.start("127.0.0.1", 0)
        try:
            bodies = [
                await asyncio.to_thread(_get, worker.health.port, path)
                for path in ("/livez", "/readyz", "/metrics")
            ]
        finally:
            await worker.health.close()
            worker.pool.shutdown()
            worker.sink.close(timeout=0)
            worker.telemetry.close()
            del worker  # and its dead-letter producer: no reconnect attempts after the test
            gc.collect()  # the worker's parts refer to each other

    assert "keel_jobs_buffered" in bodies[2]
    assert f"sasl.password={REDACTED}" in caplog.text  # the startup line names the cluster
    printed = capfd.readouterr()  # librdkafka's own log lines go to the process's stderr
    for shown in (caplog.text, printed.out, printed.err, *bodies):
        _assert_hidden(shown)


def _get(port: int, path: str) -> str:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).text
