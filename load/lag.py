"""Consumer lag of a group on a topic: records on the broker that the group has not committed.

Committed offsets are read through a consumer that carries the group's id but never subscribes
(so it never joins the group). `AdminClient.list_consumer_group_offsets` would do the same, but
in confluent-kafka 2.16.1 it crashes the process for a group that has committed nothing yet.
"""

import time

from confluent_kafka import KafkaException, TopicPartition

from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_TIMEOUT_S = 10
_RETRY_S = 0.2


class LagProbe:
    """Asks the broker, not the workers: committed offsets against each partition's end."""

    def __init__(self, cluster: ClusterSettings, group: str, topic: str, partitions: int) -> None:
        self._consumer = clients.consumer(cluster, group, {"log_level": 0})
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]

    def lag(self) -> int:
        committed = self._committed()
        total = 0
        for position in committed:
            _, end = self._consumer.get_watermark_offsets(position, timeout=_TIMEOUT_S)
            total += max(0, end - max(position.offset, 0))
        return total

    def _committed(self) -> list[TopicPartition]:
        # A coordinator that is still loading (a fresh broker, a moved partition of the
        # offsets topic) answers with a retriable error: ask again until the deadline.
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            try:
                return self._consumer.committed(self._partitions, timeout=_TIMEOUT_S)
            except KafkaException as error:
                if not error.args[0].retriable() or time.monotonic() > deadline:
                    raise
                time.sleep(_RETRY_S)

    def close(self) -> None:
        self._consumer.close()
