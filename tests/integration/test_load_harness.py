"""A short real run of the harness: real workers, real broker, the oracle's verdict."""

import json
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from keel.load.config import RunConfig
from keel.load.report import write_report
from keel.load.rounds import Topic
from keel.load.run import run_load
from keel.load.topics import remove_run_topics
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow


def test_a_short_run_with_poison_passes_the_oracle_and_writes_a_report(
    cluster: Cluster, tmp_path: Path
) -> None:
    config = RunConfig(
        scenario="test-poison",
        jobs=3000,
        keys=50,
        partitions=4,
        poison_rate=0.01,
        rounds=1,
        max_in_flight=100,
        keep_topics=True,
    )

    summary = run_load(config, cluster.settings(), tmp_path)
    # Kept, as asked: the records and the dead letters can still be read.
    topic = str(summary.config["topic"])
    assert {topic, dead_letter_topic(topic)} <= _topics(cluster)
    # ...and taken away by hand afterwards, as a user who kept them would.
    remove_run_topics(cluster.settings(), Topic(topic, 4, topic.rsplit(".", 1)[1]))
    assert [name for name in _topics(cluster) if topic in name] == []
    write_report(summary, tmp_path / "report")

    verdict = summary.verdict
    assert verdict.ok, verdict.examples
    assert verdict.poison_sent > 0
    assert verdict.sent == 3000
    assert verdict.completed == 3000 - verdict.poison_sent
    assert summary.latency.count == verdict.completed
    data = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert data["oracle"]["lost"] == 0
    assert data["rates"]["keel_per_s"] > 0
    # The live round lays its slow jobs against every process's collections (stalls.json).
    stalls = json.loads((tmp_path / "stalls.json").read_text())
    assert stalls["jobs"] == verdict.completed
    assert stalls["under_none"] <= stalls["slow"] <= stalls["jobs"]


def test_keel_and_the_baseline_are_compared_on_the_same_records(
    cluster: Cluster, tmp_path: Path
) -> None:
    config = RunConfig(scenario="test-noop", jobs=2000, keys=100, partitions=4, rounds=1)

    summary = run_load(config, cluster.settings(), tmp_path)

    assert summary.verdict.ok, summary.verdict.examples
    assert summary.baseline is not None
    assert summary.baseline.jobs == 2000
    assert summary.keel.jobs == 2000
    assert summary.to_json()["rates"]["ratio"] > 0
    # Nothing of the run is left on the broker: its topics, its groups' quarantine topics
    # (a live and a replay group of keel workers ran), and the groups' offsets.
    run_id = str(summary.config["topic"]).rsplit(".", 1)[1]
    assert [name for name in _topics(cluster) if run_id in name] == []
    assert [group for group in _groups(cluster) if run_id in group] == []


def _topics(cluster: Cluster) -> set[str]:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
    return set(admin.list_topics(timeout=30).topics)


def _groups(cluster: Cluster) -> list[str]:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
    return [g.group_id for g in admin.list_consumer_groups().result(timeout=30).valid]
