"""The workers' heartbeats topic, created by `keel topics ensure` with the job topics.

Workers create it themselves when missing, but a deployment whose workers may not create topics
(docs/security.md) gets it from the same step that creates everything else.
"""

from confluent_kafka.admin import AdminClient

from keel.producers.topics import TopicReport, ensure_topics
from keel.schemas.beats import TOPIC_CONFIG, TOPIC_PARTITIONS, BeatSettings


def ensure_beats_topic(
    admin: AdminClient, report: TopicReport, replication_factor: int = -1
) -> dict[str, int]:
    """Create the beats topic (compacted) if missing, adding what happened to `report`.

    Returns {topic: partitions}, for the caller's listing."""
    settings = BeatSettings()
    wanted = {settings.topic: TOPIC_PARTITIONS}
    more = ensure_topics(admin, wanted, replication_factor, TOPIC_CONFIG)
    report.add(more)
    return wanted
