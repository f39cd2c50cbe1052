"""The session's secured stack, and users on it with exactly the ACLs a test grants.

    def test_x(secured_user: MakeUser) -> None:
        user = secured_user("worker", Grant(topic(jobs), [AclOperation.READ]))
        subprocess.run([...], env={**os.environ, **user.env()})

The stack (SASL_SSL with SCRAM-SHA-512 over the local CA, the standard authorizer, a registry
behind basic auth over HTTPS) starts once per session, on first use only: a run that asks for no
secured fixture starts no second broker. Each user is new, with a random password, so no test
inherits another's ACLs. The registry knows one user, the super user; every test user reaches it
with the super user's registry credentials (the registry's users are fixed when it starts).
"""

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import AclOperation

from keel.deploy.local import LocalStack, private_stack
from keel.deploy.local.security import SUPER_USER, LocalSecurity
from keel.deploy.local.users import Resource, create_user, grant, super_user_admin
from keel.schemas.settings import ClusterSettings


@dataclass(frozen=True)
class Grant:
    """Operations a user may do on one resource (`users.topic(...)`, `group(...)`, ...)."""

    resource: Resource
    operations: Sequence[AclOperation]


@dataclass(frozen=True)
class SecuredUser:
    """A user of the secured stack: its name, password and the environment that logs it in."""

    name: str
    password: str
    security: LocalSecurity

    def env(self) -> dict[str, str]:
        """The variables `ClusterSettings` reads: SASL_SSL, SCRAM-SHA-512, the CA, registry."""
        stack = self.security.settings
        ca = str(self.security.ca_file)
        return {
            "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": self.name,
            "KAFKA_SASL_PASSWORD": self.password,
            "KAFKA_SSL_CA_LOCATION": ca,
            "SCHEMA_REGISTRY_URL": stack.registry_url,
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": (
                f"{SUPER_USER}:{self.security.super_user_password()}"
            ),
            "SCHEMA_REGISTRY_SSL_CA_LOCATION": ca,
        }

    def process_env(self, **extra: str) -> dict[str, str]:
        """This process's environment with the user's, and `extra`, laid over it."""
        return {**os.environ, **self.env(), **extra}

    def settings(self) -> ClusterSettings:
        """The same settings as `env()`, for clients built in the test process."""
        fields = {name.lower(): value for name, value in self.env().items()}
        return ClusterSettings(**fields)  # type: ignore[arg-type]

    def secrets(self) -> list[str]:
        """What no output may show: this user's password and the super user's."""
        return [self.password, self.security.super_user_password()]


MakeUser = Callable[..., SecuredUser]


@pytest.fixture(scope="session")
def secured_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with private_stack(tmp_path_factory.mktemp("secured-stack"), security="sasl_ssl") as stack:
        yield stack


@pytest.fixture(scope="session")
def super_admin(secured_stack: LocalStack) -> AdminClient:
    return super_user_admin(secured_stack.settings)


@pytest.fixture(scope="session")
def admin_user(secured_stack: LocalStack) -> SecuredUser:
    """The super user, for a test's own setup and checks (never for the role under test)."""
    security = LocalSecurity(secured_stack.settings)
    return SecuredUser(SUPER_USER, security.super_user_password(), security)


@pytest.fixture(scope="session")
def secured_user(secured_stack: LocalStack, super_admin: AdminClient) -> MakeUser:
    """`secured_user("worker", Grant(...), ...)`: a new user with only those grants."""
    security = LocalSecurity(secured_stack.settings)

    def make(role: str, *grants: Grant) -> SecuredUser:
        name, password = f"{role}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        create_user(super_admin, name, password)
        for each in grants:
            grant(super_admin, f"User:{name}", each.resource, each.operations)
        return SecuredUser(name, password, security)

    return make


def assert_no_secret(outputs: Iterable[str | Path], secrets: Iterable[str]) -> None:
    """Fail if any output (text, or a file's text) contains any of `secrets`."""
    texts = [o.read_text(errors="replace") if isinstance(o, Path) else o for o in outputs]
    assert texts, "no output to search"
    for secret in secrets:
        found = [i for i, text in enumerate(texts) if secret in text]
        assert not found, f"a secret appears in output(s) {found}"
