"""Users and ACLs on the secured local broker, through the Kafka admin API.

    admin = super_user_admin(settings)
    create_user(admin, "worker", "s3cret")
    grant(admin, "User:worker", topic("jobs.email"), [AclOperation.READ, AclOperation.DESCRIBE])
    grant(admin, "User:worker", group("keel-workers"), [AclOperation.READ])

Both calls return only once this broker answers with the change, not when the controller has
merely accepted it, so the next client already authenticates or is allowed.
"""

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka.admin import AdminClient

# The typed modules behind confluent_kafka.admin's untyped re-exports.
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from keel.deploy.local.errors import StackError
from keel.deploy.local.security import LocalSecurity
from keel.deploy.local.settings import LocalStackSettings
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_ITERATIONS = 8192
_TIMEOUT_S = 30.0
_POLL_S = 0.1


@dataclass(frozen=True)
class Resource:
    """What an ACL is about: a topic, a group, the cluster, by name or by name prefix."""

    kind: ResourceType
    name: str
    pattern: ResourcePatternType = ResourcePatternType.LITERAL


def topic(name: str, prefixed: bool = False) -> Resource:
    return Resource(ResourceType.TOPIC, name, _pattern(prefixed))


def group(name: str, prefixed: bool = False) -> Resource:
    return Resource(ResourceType.GROUP, name, _pattern(prefixed))


def cluster() -> Resource:
    return Resource(ResourceType.BROKER, "kafka-cluster")


def super_user_admin(settings: LocalStackSettings) -> AdminClient:
    """An admin client of the secured stack's super user (who alone may create users)."""
    bootstrap = ClusterSettings(kafka_bootstrap_servers=settings.bootstrap_servers)
    return clients.admin(bootstrap, LocalSecurity(settings).client_config())


def create_user(admin: AdminClient, name: str, password: str) -> None:
    """Create `name` (or set a new password) with a SCRAM-SHA-512 credential."""
    credential = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, _ITERATIONS)
    upsertion = UserScramCredentialUpsertion(name, credential, password.encode())
    admin.alter_user_scram_credentials([upsertion])[name].result(_TIMEOUT_S)
    _wait_until(lambda: _has_credential(admin, name), f"user {name}")


def grant(
    admin: AdminClient, principal: str, resource: Resource, operations: Iterable[AclOperation]
) -> None:
    """Allow `principal` (`User:<name>`) each of `operations` on `resource`, from any host."""
    bindings = [
        AclBinding(
            resource.kind,
            resource.name,
            resource.pattern,
            principal,
            "*",
            operation,
            AclPermissionType.ALLOW,
        )
        for operation in operations
    ]
    if not bindings:
        return
    for future in admin.create_acls(bindings).values():
        future.result(_TIMEOUT_S)
    _wait_until(lambda: _has_all(admin, bindings), f"ACLs of {principal} on {resource.name}")


def _pattern(prefixed: bool) -> ResourcePatternType:
    return ResourcePatternType.PREFIXED if prefixed else ResourcePatternType.LITERAL


def _has_credential(admin: AdminClient, name: str) -> bool:
    futures = admin.describe_user_scram_credentials([name])  # one future per user named
    try:
        described = cast(dict[str, Future[Any]], futures)[name].result(_TIMEOUT_S)
    except Exception:  # "resource not found" until the broker has the credential
        return False
    return bool(described.scram_credential_infos)


def _has_all(admin: AdminClient, bindings: list[AclBinding]) -> bool:
    wanted = {_key(binding) for binding in bindings}
    query = AclBindingFilter(  # None matches any name and any host
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        bindings[0].principal,
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    found = admin.describe_acls(query).result(_TIMEOUT_S)
    return wanted <= {_key(binding) for binding in found}


def _key(binding: AclBinding) -> tuple[object, ...]:
    return (binding.restype, binding.name, binding.resource_pattern_type, binding.operation)


def _wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _TIMEOUT_S
    while not done():
        if time.monotonic() > deadline:
            raise StackError(f"the broker did not show {what} after {_TIMEOUT_S:.0f}s")
        time.sleep(_POLL_S)
