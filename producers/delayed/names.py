"""The names a dispatcher uses, derived from its delayed topic (`KEEL_DELAYED_TOPIC`).

One delayed topic, one dispatcher: its tiers (`TIERS` partitions of the topic), its cancel
records (`T.cancels`, compacted, one partition; its consumer group also elects the leader),
the consumer group its progress is committed under, and its one transactional id.
"""

from dataclasses import dataclass

from keel.producers.delayed.timing import TIERS


@dataclass(frozen=True)
class DelayedNames:
    """Every name belonging to one delayed topic."""

    topic: str

    @property
    def cancels(self) -> str:
        return f"{self.topic}.cancels"

    @property
    def leader_group(self) -> str:
        return f"keel-dispatcher.{self.topic}"

    @property
    def progress_group(self) -> str:
        return f"keel-dispatcher.{self.topic}.progress"

    @property
    def transactional_id(self) -> str:
        return f"keel-dispatcher.{self.topic}"

    def partitions(self) -> dict[str, int]:
        """Each topic with its partition count, for `ensure_topics`."""
        return {self.topic: TIERS, self.cancels: 1}
