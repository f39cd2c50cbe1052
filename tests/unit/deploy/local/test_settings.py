from pathlib import Path

import pytest
from pydantic import ValidationError

from keel.deploy.local.settings import LocalStackSettings
from keel.schemas.settings import ClusterSettings


def test_defaults_point_the_cluster_settings_at_the_local_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    cluster, local = ClusterSettings(), LocalStackSettings()

    assert cluster.kafka_bootstrap_servers == local.bootstrap_servers
    assert cluster.schema_registry_url == local.registry_url
    assert cluster.is_external is False


def test_bootstrap_variable_marks_the_cluster_external(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.internal:9092")

    cluster = ClusterSettings()

    assert cluster.is_external is True
    assert cluster.kafka_bootstrap_servers == "kafka.internal:9092"


@pytest.mark.parametrize("port", [40000, 80, 32768])
def test_ports_outside_the_safe_range_are_refused(port: int) -> None:
    with pytest.raises(ValidationError, match=str(port)):
        LocalStackSettings(broker_port=port)


def test_two_servers_on_one_port_are_refused() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        LocalStackSettings(broker_port=20001, registry_port=20001)


def test_settings_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_LOCAL_BROKER_PORT", "21092")

    assert LocalStackSettings().bootstrap_servers == "127.0.0.1:21092"


def test_state_and_cache_follow_the_xdg_directories(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    settings = LocalStackSettings()

    assert settings.data_dir == tmp_path / "state" / "keel" / "stack"
    assert settings.cache_dir == tmp_path / "cache" / "keel"


def test_directories_come_from_prefixed_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KEEL_LOCAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KEEL_LOCAL_CACHE_DIR", str(tmp_path / "jars"))

    settings = LocalStackSettings()

    assert (settings.data_dir, settings.cache_dir) == (tmp_path / "data", tmp_path / "jars")
