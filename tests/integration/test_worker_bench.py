"""The worker bench's pieces against the real cluster: they measure, and leave nothing behind."""

import asyncio
import re
import uuid

from confluent_kafka.admin import AdminClient

from keel.load.topics import delete_topics
from keel.load.worker_bench import baseline, keel_rate, publish
from keel.schemas.topics import dead_letter_topic, quarantine_topic
from tests.support.cluster import Cluster

# `keel_rate` runs its worker in a group `bench-<uuid4>`, the baseline reads in `baseline-<uuid4>`.
_BENCH_GROUP = re.compile(r"^(bench|baseline)-[0-9a-f]{8}-[0-9a-f]{4}-4")


def test_the_no_op_and_baseline_rates_leave_no_group_and_no_quarantine_topic(
    cluster: Cluster, admin: AdminClient
) -> None:
    settings = cluster.settings()
    topic = f"bench-leftovers-{uuid.uuid4().hex[:8]}"
    publish(settings, topic, 300, 20)
    before_groups, before_topics = _groups(admin), _topics(admin)
    try:
        assert asyncio.run(keel_rate(settings, topic, 300, 0.0, 50)) > 0
        assert baseline(settings, topic, 300) > 0
        # The worker made its dead-letter topic: proof that a worker really ran here.
        assert dead_letter_topic(topic) in _topics(admin)
    finally:
        delete_topics(settings, [topic, dead_letter_topic(topic)])

    assert _groups(admin) - before_groups == set()
    left = _topics(admin) - before_topics
    assert {name for name in left if name.startswith(quarantine_topic("bench-"))} == set()


def _groups(admin: AdminClient) -> set[str]:
    listed = admin.list_consumer_groups().result(timeout=30).valid
    return {group.group_id for group in listed if _BENCH_GROUP.match(group.group_id)}


def _topics(admin: AdminClient) -> set[str]:
    return set(admin.list_topics(timeout=30).topics)
