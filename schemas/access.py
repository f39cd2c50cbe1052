"""The cluster's refusals, told in one line that says what to fix.

librdkafka treats a wrong password as a transient broker error: it reports it to an error
callback nobody set, logs it, and reconnects with backoff for as long as the client lives, so a
worker idles and a publisher waits out its delivery timeout. An ACL refusal arrives as a bare
error code (`TOPIC_AUTHORIZATION_FAILED`) that names neither the operation nor the resource.

- `check_authentication` logs in once, before a worker or a publisher starts, and raises
  `AuthenticationError` naming the mechanism and the user within seconds.
- `not_authorized` and `refusal` word an ACL refusal as "not authorized to Write topic
  jobs.dlt (TOPIC_AUTHORIZATION_FAILED)", the operation in the authorizer's own words.

No message here quotes a password: only the mechanism, the user and librdkafka's own text,
which never contains the credentials.
"""

import time

from confluent_kafka import KafkaError, KafkaException

from keel.schemas import clients
from keel.schemas.errors import AuthenticationError
from keel.schemas.settings import ClusterSettings

AUTHENTICATION_TIMEOUT_S = 10.0
_ATTEMPT_S = 0.5

# Error codes that mean "this principal may not", and the resource kind each is about.
REFUSED_KINDS = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "topic",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "group",
    KafkaError.CLUSTER_AUTHORIZATION_FAILED: "cluster",
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "transactional id",
}


def not_authorized(operation: str, kind: str, name: str, code: str | None = None) -> str:
    """ "not authorized to Read group workers" (with the error code's name, when one came)."""
    resource = kind if kind == "cluster" else f"{kind} {name}"
    return f"not authorized to {operation} {resource}" + (f" ({code})" if code else "")


def refusal(error: KafkaError, operation: str, name: str) -> str | None:
    """`not_authorized(...)` for an authorization error about `name`; None for any other."""
    kind = REFUSED_KINDS.get(error.code())
    if kind is None:
        return None
    return not_authorized(operation, kind, name, error.name())


def authentication_failure(error: KafkaError, cluster: ClusterSettings) -> str | None:
    """The line to show for a failed login, or None if `error` is something else."""
    if error.code() != KafkaError._AUTHENTICATION:
        return None
    mechanism = cluster.kafka_sasl_mechanism or cluster.kafka_security_protocol
    user = cluster.kafka_sasl_username or "(no user)"
    return (
        f"authentication failed: the cluster refused {mechanism} login as {user!r}; check "
        f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD ({error.str()})"
    )


def check_authentication(
    cluster: ClusterSettings, timeout: float = AUTHENTICATION_TIMEOUT_S
) -> None:
    """Raise `AuthenticationError` if the cluster refuses the credentials; return once it
    answers, or after `timeout` when it does not (an unreachable cluster is for the caller's
    own timeouts to report). A cluster without SASL has no login to check."""
    if cluster.kafka_sasl_mechanism is None:
        return
    errors: list[KafkaError] = []
    admin = clients.admin(cluster, {"error_cb": errors.append})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=_ATTEMPT_S)
        except KafkaException:
            admin.poll(0.1)  # serves the error callback
        else:
            return
        for error in errors:
            failure = authentication_failure(error, cluster)
            if failure is not None:
                raise AuthenticationError(failure)
