"""Settings that cannot work are refused at once, naming the settings and never a secret."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

pytestmark = pytest.mark.usefixtures("clean_env")

SECRET = "hunter2-do-not-show"
SASL_SSL = {"kafka_security_protocol": "SASL_SSL"}
SCRAM = {**SASL_SSL, "kafka_sasl_mechanism": "SCRAM-SHA-512"}

REFUSED = [
    pytest.param(
        {
            "kafka_sasl_mechanism": "PLAIN",
            "kafka_sasl_username": "u",
            "kafka_sasl_password": SECRET,
        },
        "KAFKA_SASL_MECHANISM=PLAIN needs KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT "
        "(it is PLAINTEXT)",
        id="mechanism-without-sasl-protocol",
    ),
    pytest.param(
        {**SASL_SSL, "kafka_sasl_username": "u", "kafka_sasl_password": SECRET},
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM",
        id="sasl-protocol-without-mechanism",
    ),
    pytest.param(
        {**SCRAM, "kafka_sasl_username": "u"},
        "KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs KAFKA_SASL_PASSWORD",
        id="username-without-password",
    ),
    pytest.param(
        {**SCRAM, "kafka_sasl_password": SECRET},
        "KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs KAFKA_SASL_USERNAME",
        id="password-without-username",
    ),
    pytest.param(
        {"kafka_sasl_username": "u", "kafka_sasl_password": SECRET},
        "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: only for KAFKA_SASL_MECHANISM",
        id="credentials-without-mechanism",
    ),
    pytest.param(
        {
            **SASL_SSL,
            "kafka_sasl_mechanism": "OAUTHBEARER",
            "kafka_sasl_oauthbearer_client_id": "c",
        },
        "KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET, "
        "KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL",
        id="oidc-incomplete",
    ),
    pytest.param(
        {**SCRAM, "kafka_sasl_username": "u", "kafka_sasl_password": SECRET}
        | {"kafka_sasl_oauthbearer_scope": "s"},
        "KAFKA_SASL_OAUTHBEARER_SCOPE: only for KAFKA_SASL_MECHANISM=OAUTHBEARER",
        id="oidc-without-oauthbearer",
    ),
    pytest.param(
        {"kafka_ssl_ca_location": "{dir}/ca.pem"},
        "KAFKA_SSL_CA_LOCATION: only for KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is PLAINTEXT)",
        id="tls-file-on-plaintext",
    ),
    pytest.param(
        {"kafka_security_protocol": "SSL", "kafka_ssl_ca_location": "{dir}/missing.pem"},
        "KAFKA_SSL_CA_LOCATION={dir}/missing.pem: no such file",
        id="missing-ca-file",
    ),
    pytest.param(
        {"kafka_security_protocol": "SSL", "kafka_ssl_certificate_location": "{dir}/ca.pem"},
        "KAFKA_SSL_CERTIFICATE_LOCATION needs its key: KAFKA_SSL_KEY_LOCATION or KAFKA_SSL_KEY_PEM",
        id="certificate-without-key",
    ),
    pytest.param(
        {"kafka_security_protocol": "SSL", "kafka_ssl_key_pem": SECRET},
        "KAFKA_SSL_KEY_PEM set without KAFKA_SSL_CERTIFICATE_LOCATION",
        id="key-without-certificate",
    ),
    pytest.param(
        {"kafka_security_protocol": "SSL", "kafka_ssl_key_password": SECRET},
        "KAFKA_SSL_KEY_PASSWORD set without KAFKA_SSL_KEY_LOCATION or KAFKA_SSL_KEY_PEM",
        id="key-password-without-key",
    ),
    pytest.param(
        {"schema_registry_url": f"https://user:{SECRET}@sr"},
        "SCHEMA_REGISTRY_URL holds credentials: move them to SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        id="credentials-in-registry-url",
    ),
    pytest.param(
        {"schema_registry_basic_auth_user_info": SECRET},
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be USER:PASSWORD",
        id="user-info-without-colon",
    ),
    pytest.param(
        {
            "schema_registry_basic_auth_user_info": f"u:{SECRET}",
            "schema_registry_bearer_token": SECRET,
        },
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO and SCHEMA_REGISTRY_BEARER_TOKEN are both set",
        id="basic-and-bearer",
    ),
    pytest.param(
        {"schema_registry_bearer_logical_cluster": "lsrc-1"},
        "SCHEMA_REGISTRY_BEARER_LOGICAL_CLUSTER: only with SCHEMA_REGISTRY_BEARER_TOKEN",
        id="logical-cluster-without-token",
    ),
    pytest.param(
        {"schema_registry_ssl_ca_location": "{dir}/ca.pem"},
        "SCHEMA_REGISTRY_SSL_CA_LOCATION: only for an https SCHEMA_REGISTRY_URL",
        id="registry-tls-on-http",
    ),
]


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    (tmp_path / "ca.pem").write_text("ca")
    return tmp_path


@pytest.mark.parametrize(("given", "message"), REFUSED)
def test_settings_that_cannot_work_are_refused_by_name(
    tls_dir: Path, given: dict[str, str], message: str
) -> None:
    values = {k: v.replace("{dir}", str(tls_dir)) for k, v in given.items()}

    with pytest.raises(ValidationError) as refused:
        ClusterSettings.model_validate(values)

    shown = str(refused.value)
    assert message.replace("{dir}", str(tls_dir)) in shown
    assert SECRET not in shown


def test_a_wrong_value_names_the_setting_and_not_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        ClusterSettings(kafka_security_protocol=SECRET)

    assert "kafka_security_protocol" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_librdkafka_and_the_registry_client_accept_every_key_keel_passes() -> None:
    # Clients are built without connecting; an unknown key would fail their construction.
    oidc = ClusterSettings(
        kafka_bootstrap_servers="127.0.0.1:1",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_sasl_oauthbearer_client_id="keel",
        kafka_sasl_oauthbearer_client_secret=SECRET,
        kafka_sasl_oauthbearer_token_endpoint_url="https://127.0.0.1:1/token",
        kafka_sasl_oauthbearer_scope="kafka",
        schema_registry_url="https://127.0.0.1:1",
        schema_registry_bearer_token=SECRET,
        schema_registry_bearer_logical_cluster="lsrc-1",
    )
    scram = ClusterSettings(
        kafka_bootstrap_servers="127.0.0.1:1",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="u",
        kafka_sasl_password=SECRET,
        kafka_ssl_endpoint_identification_algorithm="https",
        schema_registry_url="https://127.0.0.1:1",
        schema_registry_basic_auth_user_info=f"u:{SECRET}",
    )

    for cluster in (oidc, scram):
        clients.admin(cluster)
        with clients.registry(cluster):
            pass
