"""Creating every job topic and its dead-letter topic: `keel topics ensure`.

Idempotent: a topic that exists is left alone and reported as found, with a warning when it has
fewer partitions than configured (Kafka can add partitions, but that moves keys between them and
so breaks per-key order for jobs in flight; keel leaves that decision to a person).
"""

import time
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from keel.schemas.access import refusal
from keel.schemas.topics import dead_letter_topic

_TIMEOUT_S = 30.0
_METADATA_WAIT_S = 10.0
_METADATA_RETRY_S = 0.2


@dataclass
class TopicReport:
    """What `ensure_topics` did."""

    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # topic -> why it was not created

    def add(self, other: "TopicReport") -> None:
        """Take in what another `ensure_topics` call did, for one report of a whole command."""
        self.created += other.created
        self.found += other.found
        self.warnings += other.warnings
        self.refused |= other.refused


def with_dead_letters(topics: dict[str, int]) -> dict[str, int]:
    """Each job topic plus its dead-letter topic, which gets as many partitions."""
    return {**topics, **{dead_letter_topic(t): n for t, n in topics.items()}}


def ensure_topics(
    admin: AdminClient,
    topics: dict[str, int],
    replication_factor: int = -1,
    config: dict[str, str] | None = None,
) -> TopicReport:
    """Create the topics of `topics` (name -> partitions) that do not exist yet.

    `config` (topic-level settings such as `cleanup.policy`) applies to the topics created.
    """
    report = TopicReport()
    existing = set(admin.list_topics(timeout=_TIMEOUT_S).topics)
    missing = [
        NewTopic(name, partitions, replication_factor, config=config or {})
        for name, partitions in sorted(topics.items())
        if name not in existing
    ]
    report.found += sorted(set(topics) & existing)
    if missing:
        _create(admin, missing, report)
    _check_partitions(admin, topics, report)
    return report


def _create(admin: AdminClient, topics: list[NewTopic], report: TopicReport) -> None:
    for name, future in admin.create_topics(topics, request_timeout=_TIMEOUT_S).items():
        try:
            future.result(timeout=_TIMEOUT_S)
            report.created.append(name)
        except KafkaException as error:
            why = refusal(error.args[0], "Create", name)
            if why is not None:  # the principal lacks Create on the topic (or the cluster)
                report.refused[name] = why
            # Created by someone else since we listed (a broker's metadata can also lag behind
            # a creation): found, not made.
            elif error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                report.found.append(name)
            else:
                raise


def _check_partitions(admin: AdminClient, topics: dict[str, int], report: TopicReport) -> None:
    for name, have in sorted(_partition_counts(admin, report.found).items()):
        if have < topics[name]:
            report.warnings.append(f"{name} has {have} partitions, configured {topics[name]}")


def _partition_counts(admin: AdminClient, names: list[str]) -> dict[str, int]:
    """Partitions of each topic in `names`, waiting (bounded) for metadata that lags a creation."""
    deadline = time.monotonic() + _METADATA_WAIT_S
    while True:
        metadata = admin.list_topics(timeout=_TIMEOUT_S).topics
        counts = {n: len(metadata[n].partitions) for n in names if n in metadata}
        if all(counts.get(n) for n in names) or time.monotonic() > deadline:
            return counts
        time.sleep(_METADATA_RETRY_S)
