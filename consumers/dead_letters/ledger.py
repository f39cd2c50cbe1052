"""The replay ledger: which dead letters were replayed already, so none is replayed twice.

Beside each dead-letter topic `T.dlt` sits a compacted topic `T.dlt.replays`, keyed by the
dead-letter record's `partition:offset`, written in the same Kafka transaction as the replayed
record (`keel.consumers.dead_letters.replay`). Reading it back keeps one integer per replayed
record, grouped by partition: a ledger of a million replays costs tens of megabytes, the
dead-letter topic itself is never held.
"""

from collections import defaultdict

from confluent_kafka import KafkaException
from confluent_kafka.cimpl import NewTopic

from keel.consumers.dead_letters.reader import Letter, stream_letters
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

LEDGER_SUFFIX = ".replays"


def ledger_topic(dead_letters: str) -> str:
    return dead_letters + LEDGER_SUFFIX


class ReplayLedger:
    """The dead-letter records replayed so far, as read from the ledger topic."""

    def __init__(self) -> None:
        self._offsets: defaultdict[int, set[int]] = defaultdict(set)

    @classmethod
    def read(
        cls, cluster: ClusterSettings, dead_letters: str, timeout: float = 30.0
    ) -> "ReplayLedger":
        ledger = cls()
        for entry in stream_letters(
            cluster, ledger_topic(dead_letters), timeout=timeout, read_committed=True
        ):
            if entry.value is not None and entry.key:
                ledger.add((entry.key or b"").decode())
        return ledger

    def add(self, letter_id: str) -> None:
        """Record `partition:offset` as replayed."""
        partition, offset = letter_id.split(":")
        self._offsets[int(partition)].add(int(offset))

    def __contains__(self, letter: Letter) -> bool:
        return letter.offset in self._offsets.get(letter.partition, ())

    def __len__(self) -> int:
        return sum(len(offsets) for offsets in self._offsets.values())

    def ids(self) -> set[str]:
        return {f"{p}:{o}" for p, offsets in self._offsets.items() for o in offsets}


def ensure_ledger(cluster: ClusterSettings, dead_letters: str) -> None:
    """Create the ledger topic (one partition, compacted) unless it exists."""
    admin = clients.admin(cluster)
    ledger = ledger_topic(dead_letters)
    if ledger in admin.list_topics(timeout=30).topics:
        return
    topic = NewTopic(ledger, num_partitions=1, config={"cleanup.policy": "compact"})
    try:
        admin.create_topics([topic])[ledger].result(timeout=30)
    except KafkaException as error:
        if "TOPIC_ALREADY_EXISTS" not in str(error):
            raise
