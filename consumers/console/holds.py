"""Quarantined keys per consumer group, read from each group's state topic.

Each group that has held a key keeps its holds in `keel.quarantine.<group>` (see
`keel.consumers.dead_letters.parking`); the console reads every such topic to its end and folds
it as a worker does, so what it lists is what a new owner of the partition would hold.
"""

from dataclasses import dataclass

from keel.consumers.console.offsets import topic_names
from keel.consumers.dead_letters.parking import fold, read_state, state_reader
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import quarantine_topic

PREFIX = quarantine_topic("")


@dataclass(frozen=True, order=True)
class HeldKey:
    """One key a group holds, and the dead-lettered job that blocks it."""

    group: str
    topic: str
    partition: int
    key: str
    blocker: str
    job_id: str
    parked_through: int


def held_keys(cluster: ClusterSettings, timeout: float) -> list[HeldKey]:
    """Every key held now, by group, topic, partition and key."""
    groups = sorted(
        name.removeprefix(PREFIX)
        for name in topic_names(clients.admin(cluster), timeout)
        if name.startswith(PREFIX)
    )
    return sorted(held for group in groups for held in _of(cluster, group, timeout))


def _of(cluster: ClusterSettings, group: str, timeout: float) -> list[HeldKey]:
    entries = read_state(state_reader(cluster), quarantine_topic(group), timeout)
    return [
        HeldKey(
            group,
            topic,
            partition,
            key.decode("utf-8", "backslashreplace"),
            hold.blocker,
            hold.job_id,
            hold.parked_through,
        )
        for (topic, partition), keys in fold(entries or []).items()
        for key, hold in keys.items()
    ]
