"""Formatting decisions of the local broker, checked without starting a JVM."""

import re
from pathlib import Path

import pytest

from keel.deploy.local.broker import LocalBroker, formatted_cluster_id, new_cluster_id
from keel.deploy.local.errors import StaleDataDirError
from keel.deploy.local.java import JavaRuntime
from keel.deploy.local.settings import LocalStackSettings

_NO_JAVA = JavaRuntime(Path("/nonexistent/java"), 25, "test")


def test_cluster_ids_have_kafkas_shape() -> None:
    ids = {new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)


def test_a_data_dir_of_another_cluster_is_refused(tmp_path: Path) -> None:
    broker = LocalBroker(LocalStackSettings(data_dir=tmp_path))
    log_dir = broker.home / "data"
    log_dir.mkdir(parents=True)
    (log_dir / "meta.properties").write_text("version=1\ncluster.id=SomeoneElsesCluster0\n")

    with pytest.raises(StaleDataDirError, match="SomeoneElsesCluster0") as refused:
        broker.start(_NO_JAVA, tmp_path)

    assert "keel broker reset" in str(refused.value)
    assert broker.server.pid() is None


def test_formatted_cluster_id_reads_meta_properties(tmp_path: Path) -> None:
    assert formatted_cluster_id(tmp_path) is None
    (tmp_path / "meta.properties").write_text("node.id=1\ncluster.id = abc\n")

    assert formatted_cluster_id(tmp_path) == "abc"


def test_single_node_settings_are_in_the_broker_config(tmp_path: Path) -> None:
    settings = LocalStackSettings(data_dir=tmp_path, broker_port=21000, controller_port=21001)
    properties = LocalBroker(settings).properties()

    assert properties["listeners"] == ("PLAINTEXT://127.0.0.1:21000,CONTROLLER://127.0.0.1:21001")
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:21001"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert properties[key] == "1"
    assert properties["group.initial.rebalance.delay.ms"] == "0"
