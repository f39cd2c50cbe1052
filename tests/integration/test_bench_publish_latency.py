"""`keel bench publish-latency` against the real cluster: every publish awaited, quantiles out."""

import json

import pytest
from typer.testing import CliRunner

from keel.cli import build
from tests.support.cluster import Cluster

runner = CliRunner()


def test_publish_latency_reports_ordered_quantiles_of_every_awaited_publish(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)

    result = runner.invoke(
        build("bench"),
        ["bench", "publish-latency", "--rate", "200", "--seconds", "1", "--json"],
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["publishes"] > 0
    assert figures["first_publish_ms"] > 0
    for measured in ("call_ms", "due_ms"):
        values = [figures[measured][q] for q in ("p50", "p90", "p99", "p99_9", "max")]
        assert values == sorted(values)
        assert values[0] > 0
    # From the due time is never shorter than from the call: the call comes at or after it
    assert figures["due_ms"]["max"] >= figures["call_ms"]["max"]
