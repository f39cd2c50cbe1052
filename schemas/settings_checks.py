"""Which combinations of cluster settings cannot work, said before any client tries them.

Each check returns the problems it finds as sentences that name the settings by their
variables (`KAFKA_SASL_MECHANISM`, ...) and never quote a secret's value. librdkafka would
otherwise accept most of these and fail later, far from the cause: a SASL mechanism on a
PLAINTEXT listener is silently unused, a missing CA file is a handshake error on first connect.
"""

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from keel.schemas.settings import ClusterSettings

SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
PASSWORD_MECHANISMS = frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
_OIDC_REQUIRED = (
    "kafka_sasl_oauthbearer_client_id",
    "kafka_sasl_oauthbearer_client_secret",
    "kafka_sasl_oauthbearer_token_endpoint_url",
)
_OIDC = (*_OIDC_REQUIRED, "kafka_sasl_oauthbearer_scope")
_KAFKA_TLS = (
    "kafka_ssl_ca_location",
    "kafka_ssl_certificate_location",
    "kafka_ssl_key_location",
    "kafka_ssl_key_pem",
    "kafka_ssl_key_password",
    "kafka_ssl_endpoint_identification_algorithm",
)
_REGISTRY_TLS = (
    "schema_registry_ssl_ca_location",
    "schema_registry_ssl_certificate_location",
    "schema_registry_ssl_key_location",
    "schema_registry_ssl_key_password",
)
_FILES = (
    "kafka_ssl_ca_location",
    "kafka_ssl_certificate_location",
    "kafka_ssl_key_location",
    "schema_registry_ssl_ca_location",
    "schema_registry_ssl_certificate_location",
    "schema_registry_ssl_key_location",
)
# librdkafka's ssl.ca.location also takes "probe": look for the system's CA bundle.
_PROBE = "probe"


def problems(cluster: "ClusterSettings") -> list[str]:
    """Every problem of `cluster`'s settings, in a stable order; empty when they can work."""
    return [
        *_sasl(cluster),
        *_passwords(cluster),
        *_oidc(cluster),
        *_kafka_tls(cluster),
        *_files(cluster),
        *_registry(cluster),
    ]


def variable(field: str) -> str:
    """The environment variable of a setting, as the errors and the docs name it."""
    return field.upper()


def _set(cluster: "ClusterSettings", fields: tuple[str, ...]) -> list[str]:
    return [variable(f) for f in fields if getattr(cluster, f) is not None]


def _sasl(cluster: "ClusterSettings") -> list[str]:
    protocol, mechanism = cluster.kafka_security_protocol, cluster.kafka_sasl_mechanism
    if mechanism and protocol not in SASL_PROTOCOLS:
        return [
            f"KAFKA_SASL_MECHANISM={mechanism} needs KAFKA_SECURITY_PROTOCOL=SASL_SSL or "
            f"SASL_PLAINTEXT (it is {protocol})"
        ]
    if protocol in SASL_PROTOCOLS and not mechanism:
        return [
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_MECHANISM: "
            "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
        ]
    return []


def _passwords(cluster: "ClusterSettings") -> list[str]:
    given = _set(cluster, ("kafka_sasl_username", "kafka_sasl_password"))
    mechanism = cluster.kafka_sasl_mechanism
    if mechanism in PASSWORD_MECHANISMS and len(given) < 2:
        missing = {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"} - set(given)
        return [f"KAFKA_SASL_MECHANISM={mechanism} needs {' and '.join(sorted(missing))}"]
    if given and mechanism not in PASSWORD_MECHANISMS:
        return [
            f"{' and '.join(given)}: only for KAFKA_SASL_MECHANISM PLAIN, SCRAM-SHA-256 or "
            f"SCRAM-SHA-512 (it is {mechanism or 'unset'})"
        ]
    return []


def _oidc(cluster: "ClusterSettings") -> list[str]:
    if cluster.kafka_sasl_mechanism == "OAUTHBEARER":
        missing = [variable(f) for f in _OIDC_REQUIRED if getattr(cluster, f) is None]
        return [f"KAFKA_SASL_MECHANISM=OAUTHBEARER needs {', '.join(missing)}"] if missing else []
    given = _set(cluster, _OIDC)
    return [f"{', '.join(given)}: only for KAFKA_SASL_MECHANISM=OAUTHBEARER"] if given else []


def _kafka_tls(cluster: "ClusterSettings") -> list[str]:
    if cluster.kafka_security_protocol not in TLS_PROTOCOLS:
        given = _set(cluster, _KAFKA_TLS)
        protocol = cluster.kafka_security_protocol
        only = f"only for KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is {protocol})"
        return [f"{', '.join(given)}: {only}"] if given else []
    return _key_pair(
        cluster,
        "kafka_ssl_certificate_location",
        ("kafka_ssl_key_location", "kafka_ssl_key_pem"),
        "kafka_ssl_key_password",
    )


def _key_pair(
    cluster: "ClusterSettings", certificate: str, keys: tuple[str, ...], password: str
) -> list[str]:
    """A client certificate goes with exactly one private key; a key password with a key."""
    has_certificate = getattr(cluster, certificate) is not None
    given_keys = _set(cluster, keys)
    found = []
    if len(given_keys) > 1:
        found.append(f"{' and '.join(given_keys)} are both set: keep one")
    if has_certificate and not given_keys:
        found.append(f"{variable(certificate)} needs its key: {' or '.join(map(variable, keys))}")
    if given_keys and not has_certificate:
        found.append(f"{' and '.join(given_keys)} set without {variable(certificate)}")
    if getattr(cluster, password) is not None and not given_keys:
        found.append(f"{variable(password)} set without {' or '.join(map(variable, keys))}")
    return found


def _files(cluster: "ClusterSettings") -> list[str]:
    found = []
    for field in _FILES:
        path = getattr(cluster, field)
        if path is None or (field == "kafka_ssl_ca_location" and path == _PROBE):
            continue
        if not os.path.exists(path):
            found.append(f"{variable(field)}={path}: no such file")
        elif not os.access(path, os.R_OK):
            found.append(f"{variable(field)}={path}: not readable by this process")
    return found


def _registry(cluster: "ClusterSettings") -> list[str]:
    url = urlsplit(cluster.schema_registry_url)
    found = []
    if url.username is not None or url.password is not None:
        found.append(
            "SCHEMA_REGISTRY_URL holds credentials: move them to "
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, so that the URL can be shown"
        )
    found += _registry_auth(cluster)
    if url.scheme != "https":
        given = _set(cluster, _REGISTRY_TLS)
        found += [f"{', '.join(given)}: only for an https SCHEMA_REGISTRY_URL"] if given else []
    return found + _key_pair(
        cluster,
        "schema_registry_ssl_certificate_location",
        ("schema_registry_ssl_key_location",),
        "schema_registry_ssl_key_password",
    )


def _registry_auth(cluster: "ClusterSettings") -> list[str]:
    user_info = cluster.schema_registry_basic_auth_user_info
    bearer = ("schema_registry_bearer_logical_cluster", "schema_registry_bearer_identity_pool_id")
    found = []
    if user_info is not None and cluster.schema_registry_bearer_token is not None:
        found.append(
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO and SCHEMA_REGISTRY_BEARER_TOKEN are both "
            "set: keep one"
        )
    if user_info is not None and ":" not in user_info.get_secret_value():
        found.append("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be USER:PASSWORD (no ':' in it)")
    if cluster.schema_registry_bearer_token is None and (given := _set(cluster, bearer)):
        found.append(f"{', '.join(given)}: only with SCHEMA_REGISTRY_BEARER_TOKEN")
    return found
