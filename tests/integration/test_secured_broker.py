"""The secured local broker: SASL_SSL with SCRAM-SHA-512, the local CA, and ACLs enforced.

The session's secured stack (tests.support.secured), on free ports. Clients are built as plain
librdkafka dicts from the stack's security files.
"""

import contextlib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclOperation
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.deploy.local import LocalStack
from keel.deploy.local.security import LocalSecurity
from keel.deploy.local.users import create_user, grant, topic
from tests.support.topics import create_topic, unique_name

pytestmark = pytest.mark.slow

_ERROR_DEADLINE_S = 10.0


def _security(stack: LocalStack) -> LocalSecurity:
    return LocalSecurity(stack.settings)


def _produce(config: dict[str, Any], topic_name: str, value: bytes) -> KafkaError | None:
    """Produce one record and wait for its delivery report; the report's error, if any."""
    outcome: list[KafkaError | None] = []
    producer = Producer({**config, "message.timeout.ms": 15000})
    producer.produce(topic_name, value, on_delivery=lambda error, _message: outcome.append(error))
    producer.flush(20)
    assert outcome, "no delivery report within the deadline"
    return outcome[0]


def test_the_super_user_writes_and_reads_over_sasl_ssl(
    secured_stack: LocalStack, super_admin: AdminClient
) -> None:
    config = _security(secured_stack).client_config()
    name = create_topic(super_admin, unique_name("secured"))

    assert _produce(config, name, b"over TLS") is None

    consumer = Consumer(
        {**config, "group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe([name])
        deadline = time.monotonic() + 30
        message = None
        while message is None and time.monotonic() < deadline:
            polled = consumer.poll(0.5)
            message = polled if polled is not None and polled.error() is None else None
    finally:
        consumer.close()
    assert message is not None
    assert message.value() == b"over TLS"


def test_a_user_writes_the_topic_it_was_granted_and_no_other(
    secured_stack: LocalStack, super_admin: AdminClient
) -> None:
    allowed = create_topic(super_admin, unique_name("allowed"))
    refused = create_topic(super_admin, unique_name("refused"))
    user, password = f"writer-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    create_user(super_admin, user, password)
    grant(super_admin, f"User:{user}", topic(allowed), [AclOperation.WRITE])
    config = _security(secured_stack).client_config(user, password)

    assert _produce(config, allowed, b"granted") is None
    error = _produce(config, refused, b"not granted")

    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


@dataclass
class Reported:
    """What a client's error callback reported, and how long until the awaited error came."""

    errors: list[KafkaError] = field(default_factory=list)
    seconds: float = 0.0

    def first(self, code: int) -> KafkaError | None:
        return next((error for error in self.errors if error.code() == code), None)


def _wait_for_error(config: dict[str, Any], code: int) -> Reported:
    """Ask for metadata until the client reports an error of `code`, or the deadline passes."""
    reported = Reported()
    with_callback: dict[str, Any] = {**config, "error_cb": reported.errors.append, "log_level": 0}
    admin = AdminClient(with_callback)
    started = time.monotonic()
    while reported.first(code) is None and time.monotonic() - started < _ERROR_DEADLINE_S:
        with contextlib.suppress(KafkaException):
            admin.list_topics(timeout=0.5)
        admin.poll(0.1)  # serves the error callback
    reported.seconds = time.monotonic() - started
    return reported


def test_a_wrong_password_fails_authentication_within_seconds(secured_stack: LocalStack) -> None:
    config = _security(secured_stack).client_config(password=uuid.uuid4().hex)

    reported = _wait_for_error(config, KafkaError._AUTHENTICATION)

    error = reported.first(KafkaError._AUTHENTICATION)
    assert error is not None, [e.str() for e in reported.errors]
    assert "SASL authentication error" in error.str()
    assert "SCRAM-SHA-512" in error.str()
    assert reported.seconds < 5


def test_a_plaintext_client_cannot_use_the_secured_port(secured_stack: LocalStack) -> None:
    plaintext = {"bootstrap.servers": secured_stack.settings.bootstrap_servers}

    # The TLS listener drops the plaintext handshake: librdkafka finds no usable broker.
    reported = _wait_for_error(plaintext, KafkaError._ALL_BROKERS_DOWN)

    assert reported.first(KafkaError._ALL_BROKERS_DOWN) is not None, reported.errors
    assert reported.first(KafkaError._AUTHENTICATION) is None


def test_no_plain_client_listener_is_open(secured_stack: LocalStack) -> None:
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", secured_stack.settings.broker_port))


def test_the_security_files_are_private(secured_stack: LocalStack) -> None:
    security = _security(secured_stack)
    private = [security.keystore_file, security.password_file, security.client_properties_file]

    assert [oct(path.stat().st_mode & 0o777) for path in private] == ["0o600"] * 3
    assert Path(security.ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_the_registry_asks_for_credentials_over_https(secured_stack: LocalStack) -> None:
    security = _security(secured_stack)
    url = f"{secured_stack.settings.registry_url}/subjects"
    trust = ssl.create_default_context(cafile=str(security.ca_file))

    assert url.startswith("https://")
    assert httpx.get(url, verify=trust).status_code == 401
    wrong = httpx.get(url, verify=trust, auth=("admin", uuid.uuid4().hex))
    assert wrong.status_code == 401
    with SchemaRegistryClient(security.registry_client_config()) as registry:
        assert isinstance(registry.get_subjects(), list)  # the session may have registered some
