"""Markers by folder, and the session's real Kafka cluster and schema registry."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.support.cluster import Cluster, provision
from tests.support.topics import create_topic, unique_name

_MARKER_BY_FOLDER = {"unit": "unit", "integration": "kafka"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.path)).relative_to(Path(__file__).parent).parts[0]
        marker = _MARKER_BY_FOLDER.get(folder)
        if marker is not None:
            item.add_marker(getattr(pytest.mark, marker))


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
