"""`keel topics ensure` and `keel schemas check|register` against the real cluster."""

import json
import signal

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from typer.testing import CliRunner

from keel.cli import app, build
from keel.schemas.demo import SendEmail, demo_catalog
from tests.support.cluster import Cluster
from tests.support.topics import create_topic, unique_name

runner = CliRunner()


@pytest.fixture
def routed(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the CLI at the test cluster, with the demo jobs routed to fresh topics."""
    names = demo_catalog().names
    topics = {name: unique_name(name.rsplit(".", 1)[1].lower()) for name in names}
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)
    routes = {name: {"topic": topic, "partitions": 2} for name, topic in topics.items()}
    monkeypatch.setenv("KEEL_ROUTES", json.dumps(routes))
    return topics


def test_topics_ensure_creates_topics_and_dead_letters_once(
    admin: AdminClient, routed: dict[str, str]
) -> None:
    first = runner.invoke(app, ["topics", "ensure"])
    second = runner.invoke(app, ["topics", "ensure"])

    assert first.exit_code == 0, first.output
    existing = admin.list_topics(timeout=10).topics
    for topic in routed.values():
        assert f"created {topic} (2 partitions)" in first.output
        assert f"created {topic}.dlt (2 partitions)" in first.output
        assert len(existing[topic].partitions) == 2
        assert f"found   {topic}.dlt" in second.output
    assert "created" not in second.output


def test_topics_ensure_delayed_creates_the_delayed_jobs_topics(
    admin: AdminClient, routed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    delayed = unique_name("delayed")
    monkeypatch.setenv("KEEL_DELAYED_TOPIC", delayed)

    result = runner.invoke(app, ["topics", "ensure", "--delayed"])

    assert result.exit_code == 0, result.output
    assert f"created {delayed} (24 partitions)" in result.output
    assert f"created {delayed}.cancels (1 partitions)" in result.output
    resource = ConfigResource("topic", f"{delayed}.cancels")
    [config] = [f.result(10) for f in admin.describe_configs([resource]).values()]
    assert config["cleanup.policy"].value == "compact,delete"


def test_topics_ensure_warns_about_too_few_partitions(
    admin: AdminClient, routed: dict[str, str]
) -> None:
    create_topic(admin, routed["keel.jobs.SendEmail"], partitions=1)

    result = runner.invoke(app, ["topics", "ensure"])

    assert result.exit_code == 0
    assert f"{routed['keel.jobs.SendEmail']} has 1 partitions, configured 2" in result.stderr


def test_schemas_register_then_check_is_clean(routed: dict[str, str]) -> None:
    before = runner.invoke(app, ["schemas", "check"])
    registered = runner.invoke(app, ["schemas", "register"])
    after = runner.invoke(app, ["schemas", "check"])

    assert before.exit_code == 0, before.output
    assert "not registered yet" in before.output
    assert registered.exit_code == 0, registered.output
    assert registered.output.count("registered ") == 3
    assert after.exit_code == 0, after.output
    assert after.output.count("vs registry latest") == 3


def test_schemas_check_reports_the_registry_reason(
    cluster: Cluster, routed: dict[str, str]
) -> None:
    # Given a registered SendEmail without `to`, which the repo's version requires: BACKWARD,
    # the repo's code could not read jobs written with the registered one
    subject = f"{routed['keel.jobs.SendEmail']}-keel.jobs.SendEmail"
    newer = json.loads(demo_catalog().of(SendEmail).schema_str)
    newer["fields"] = [f for f in newer["fields"] if f["name"] != "to"]
    with SchemaRegistryClient({"url": cluster.registry_url}) as client:
        client.register_schema(subject, Schema(json.dumps(newer), "AVRO"))
        client.set_compatibility(subject, "BACKWARD")

    result = runner.invoke(app, ["schemas", "check"])

    assert result.exit_code == 1
    assert f"BROKEN  {subject} vs registry latest" in result.output
    assert "BACKWARD rule" in result.output


def test_demo_publishes_the_demo_jobs_to_their_routes(routed: dict[str, str]) -> None:
    assert runner.invoke(app, ["topics", "ensure"]).exit_code == 0
    sigterm = signal.getsignal(signal.SIGTERM)  # `keel demo` takes SIGTERM over, as Ctrl-C
    try:
        result = runner.invoke(app, ["demo", "--rate", "1000", "--jobs", "40"])
    finally:
        signal.signal(signal.SIGTERM, sigterm)

    assert result.exit_code == 0, result.output
    assert "published 40 jobs" in result.output


def test_bench_publish_prints_medians_and_ratio_as_json(routed: dict[str, str]) -> None:
    result = runner.invoke(
        build("bench"), ["bench", "publish", "--jobs", "300", "--rounds", "3", "--json"]
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert len(figures["typed_runs"]) == len(figures["raw_runs"]) == 3
    assert figures["typed_per_s"] == sorted(figures["typed_runs"])[1]
    assert figures["ratio"] == figures["typed_per_s"] / figures["raw_per_s"]
    assert figures["raw_per_s"] > 0
    assert len(figures["stock_runs"]) == 3
    assert figures["ratio_vs_stock"] == figures["typed_per_s"] / figures["stock_per_s"]
    assert figures["typed_cpu_us"] > 0
    assert figures["cpu_ratio_vs_stock"] == figures["stock_cpu_us"] / figures["typed_cpu_us"]


def test_topics_ensure_creates_the_compacted_worker_beats_topic(
    admin: AdminClient, routed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    beats = unique_name("workers")
    monkeypatch.setenv("KEEL_BEATS_TOPIC", beats)

    first = runner.invoke(app, ["topics", "ensure"])
    again = runner.invoke(app, ["topics", "ensure"])

    assert first.exit_code == 0, first.output
    assert f"created {beats} (1 partitions)" in first.output
    assert f"found   {beats}" in again.output
    [config] = [
        f.result(10) for f in admin.describe_configs([ConfigResource("topic", beats)]).values()
    ]
    assert config["cleanup.policy"].value == "compact"
