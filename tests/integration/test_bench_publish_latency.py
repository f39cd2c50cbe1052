"""`keel bench publish` and `publish-latency` against the real cluster; neither leaves a topic."""

import json
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from keel.cli import build
from tests.support.cluster import Cluster

runner = CliRunner()


def test_publish_latency_reports_ordered_quantiles_of_every_awaited_publish(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures, before = _bench(
        cluster, monkeypatch, "publish-latency", "--rate", "200", "--seconds", "1"
    )

    assert figures["publishes"] > 0
    assert figures["first_publish_ms"] > 0
    for measured in ("call_ms", "due_ms"):
        values = [figures[measured][q] for q in ("p50", "p90", "p99", "p99_9", "max")]
        assert values == sorted(values)
        assert values[0] > 0
    # From the due time is never shorter than from the call: the call comes at or after it
    assert figures["due_ms"]["max"] >= figures["call_ms"]["max"]
    assert _bench_topics(cluster) <= before


def test_publish_bench_compares_the_paths_and_takes_its_topic_away(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures, before = _bench(
        cluster, monkeypatch, "publish", "--jobs", "2000", "--rounds", "1", "--partitions", "2"
    )

    assert figures["typed_per_s"] > 0
    assert figures["ratio_vs_stock"] > 0
    assert _bench_topics(cluster) <= before


def _bench(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, *arguments: str
) -> tuple[dict[str, Any], set[str]]:
    """`keel bench ARGUMENTS --json` against the cluster: its figures, and the bench topics
    that were there before it ran."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
    before = _bench_topics(cluster)
    result = runner.invoke(build("bench"), ["bench", *arguments, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), before


def _bench_topics(cluster: Cluster) -> set[str]:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
    return {name for name in admin.list_topics(timeout=30).topics if name.startswith("bench.")}
