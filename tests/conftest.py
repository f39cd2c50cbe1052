"""Markers by folder, and the session's real Kafka cluster and schema registry."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.support.cluster import Cluster, provision
from tests.support.topics import create_topic, unique_name

# The secured stack's fixtures, and a real browser's `page`, for any test that asks for them.
pytest_plugins = ["tests.support.secured", "tests.support.browser"]

_MARKER_BY_FOLDER = {"unit": "unit", "integration": "kafka"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = marker_of(Path(str(item.path)))
        if marker is not None:
            item.add_marker(getattr(pytest.mark, marker))


def marker_of(path: Path) -> str | None:
    """The marker of the nearest folder named in `_MARKER_BY_FOLDER`: tests/unit/consumers/x.py
    is a unit test, as tests/unit/x.py is."""
    for folder in path.parents:
        if folder.name in _MARKER_BY_FOLDER:
            return _MARKER_BY_FOLDER[folder.name]
        if folder.name == "tests":
            break
    return None


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with provision(tmp_path_factory.mktemp("local-stack")) as provided:
        yield provided


@pytest.fixture(scope="session")
def admin(cluster: Cluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap_servers})


@pytest.fixture
def new_topic(admin: AdminClient) -> Callable[..., str]:
    """Create a uniquely named topic: `new_topic("orders", partitions=3)`."""

    def make(prefix: str = "test", partitions: int = 1) -> str:
        return create_topic(admin, unique_name(prefix), partitions)

    return make
