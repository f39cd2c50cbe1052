"""The cluster's refusals in one line: a failed login names the mechanism and the user, an ACL
refusal the operation and the resource; no line quotes a password."""

import pytest
from confluent_kafka import KafkaError
from pydantic import SecretStr

from keel.schemas.access import authentication_failure, not_authorized, refusal
from keel.schemas.settings import ClusterSettings

_PASSWORD = "hunter2-not-shown"
_LIBRDKAFKA = (
    "sasl_ssl://127.0.0.1:9093/bootstrap: SASL authentication error: Authentication failed "
    "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
)


def _scram() -> ClusterSettings:
    return ClusterSettings(
        kafka_bootstrap_servers="127.0.0.1:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="billing-worker",
        kafka_sasl_password=SecretStr(_PASSWORD),
    )


def test_a_failed_login_names_the_mechanism_and_the_user_but_not_the_password() -> None:
    line = authentication_failure(KafkaError(KafkaError._AUTHENTICATION, _LIBRDKAFKA), _scram())

    assert line is not None
    assert line.startswith("authentication failed: the cluster refused SCRAM-SHA-512 login")
    assert "'billing-worker'" in line
    assert _PASSWORD not in line


def test_an_error_that_is_not_a_failed_login_is_not_called_one() -> None:
    error = KafkaError(KafkaError._TRANSPORT, "connection refused")

    assert authentication_failure(error, _scram()) is None


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            "jobs.dlt",
            "not authorized to Write topic jobs.dlt (TOPIC_AUTHORIZATION_FAILED)",
        ),
        (
            KafkaError.GROUP_AUTHORIZATION_FAILED,
            "billing",
            "not authorized to Write group billing (GROUP_AUTHORIZATION_FAILED)",
        ),
        (
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            "jobs",
            "not authorized to Write cluster (CLUSTER_AUTHORIZATION_FAILED)",
        ),
        (
            KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            "keel-dlt-replay-jobs.dlt",
            "not authorized to Write transactional id keel-dlt-replay-jobs.dlt "
            "(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)",
        ),
    ],
)
def test_an_authorization_error_names_the_operation_and_the_resource(
    code: int, name: str, expected: str
) -> None:
    assert refusal(KafkaError(code), "Write", name) == expected


def test_an_error_that_is_not_a_refusal_is_left_to_the_caller() -> None:
    assert refusal(KafkaError(KafkaError.TOPIC_ALREADY_EXISTS), "Create", "jobs") is None


def test_a_refusal_without_an_error_code_names_only_the_grant() -> None:
    assert not_authorized("Read", "group", "billing") == "not authorized to Read group billing"
