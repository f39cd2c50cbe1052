"""Uniquely named topics, so every test works on data no other test can see."""

import uuid

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_topic(admin: AdminClient, name: str, partitions: int = 1) -> str:
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)
    return name
