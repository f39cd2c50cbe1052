"""Every Kafka and registry client comes from `keel.schemas.clients`, built on the cluster's keys.

Tests and `tests/support` still build their own clients where they talk to the test cluster
directly (its `Cluster` fixture, raw producers for poison records, readers from the start).
"""

import ast
from pathlib import Path

import pytest

import keel
import keel.consumers
import keel.deploy
import keel.load
import keel.producers
import keel.schemas
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_CLIENTS = {"Producer", "Consumer", "AdminClient", "SchemaRegistryClient"}
_FACTORY = Path(clients.__file__).resolve()
_PACKAGES = [keel, keel.consumers, keel.deploy, keel.load, keel.producers, keel.schemas]


def _constructions(path: Path) -> list[str]:
    """`Name(...)` and `module.Name(...)` calls of a client class in one module's source."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in _CLIENTS:
            found.append(f"{path}:{node.lineno} {name}(...)")
    return found


def _keel_modules() -> list[Path]:
    """Every module of keel, wherever the packaging puts each subpackage's folder."""
    roots = [Path(str(package.__file__)).parent for package in _PACKAGES]
    return sorted({path.resolve() for root in roots for path in root.rglob("*.py")})


def test_only_the_factory_constructs_kafka_and_registry_clients() -> None:
    modules = _keel_modules()
    assert _FACTORY in modules
    assert len(modules) > 100  # the walk followed the subpackages' symlinks

    elsewhere = [hit for path in modules if path != _FACTORY for hit in _constructions(path)]

    assert elsewhere == []


def test_the_factory_constructs_each_client_kind() -> None:
    built = {hit.rsplit(" ", 1)[1].removesuffix("(...)") for hit in _constructions(_FACTORY)}

    assert built == _CLIENTS


@pytest.mark.usefixtures("clean_env")
def test_every_client_config_starts_from_the_cluster_settings() -> None:
    cluster = ClusterSettings(
        kafka_bootstrap_servers="kafka-1:9092", schema_registry_url="http://registry:8081"
    )

    assert cluster.kafka_config() == {
        "bootstrap.servers": "kafka-1:9092",
        "security.protocol": "PLAINTEXT",
    }
    assert cluster.registry_config() == {"url": "http://registry:8081"}
