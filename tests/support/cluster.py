"""Provisioning the Kafka cluster and schema registry a test session talks to.

In order of preference:
1. `KAFKA_BOOTSTRAP_SERVERS` / `SCHEMA_REGISTRY_URL` name an existing cluster: use it as is.
2. A Docker engine answers: Kafka and Apicurio Registry containers through testcontainers, at
   the local stack's versions and with its broker properties (`tests.support.kafka_container`).
3. Otherwise: the project's own local stack, on free ports and in a throwaway data directory,
   so a session never disturbs the developer's `keel broker` instance.
"""

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keel.deploy.local import private_stack
from keel.deploy.local.artifacts import APICURIO_VERSION
from keel.deploy.local.broker import LocalBroker
from keel.deploy.local.settings import LocalStackSettings
from keel.schemas.settings import CCOMPAT_PATH, ClusterSettings
from tests.support.kafka_container import apache_kafka

REGISTRY_IMAGE = f"apicurio/apicurio-registry:{APICURIO_VERSION}"


@dataclass(frozen=True)
class Cluster:
    """Where the tests' broker and registry are, and how they were provided."""

    bootstrap_servers: str
    registry_url: str
    provider: str

    def settings(self) -> ClusterSettings:
        return ClusterSettings(
            kafka_bootstrap_servers=self.bootstrap_servers, schema_registry_url=self.registry_url
        )


@contextmanager
def provision(scratch: Path) -> Iterator[Cluster]:
    configured = ClusterSettings()
    if configured.is_external:
        yield Cluster(
            configured.kafka_bootstrap_servers, configured.schema_registry_url, "environment"
        )
    elif docker_engine_answers():
        with _containers(scratch) as cluster:
            yield cluster
    else:
        with private_stack(scratch) as stack:
            yield Cluster(stack.settings.bootstrap_servers, stack.settings.registry_url, "local")


def docker_engine_answers() -> bool:
    """True when a Docker engine answers; asked through the CLI, which fails fast without one."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        answer = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return answer.returncode == 0


@contextmanager
def _containers(scratch: Path) -> Iterator[Cluster]:
    # Imported here: testcontainers is only needed, and only importable cleanly, with an engine.
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.wait_strategies import HttpWaitStrategy  # noqa: PLC0415

    registry = (
        DockerContainer(REGISTRY_IMAGE)
        .with_exposed_ports(8080)
        .waiting_for(HttpWaitStrategy(8080, f"{CCOMPAT_PATH}/subjects"))
    )
    broker = LocalBroker(LocalStackSettings(data_dir=scratch)).properties()
    with apache_kafka(broker) as bootstrap_servers, registry:
        host = registry.get_container_host_ip()
        port = registry.get_exposed_port(8080)
        registry_url = f"http://{host}:{port}{CCOMPAT_PATH}"
        yield Cluster(bootstrap_servers, registry_url, "testcontainers")
