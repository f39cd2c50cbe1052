"""Consumer lag per partition, from librdkafka's own statistics: no extra broker calls.

librdkafka reports its state as JSON every `statistics.interval.ms` through the consumer's
`stats_cb`, on the poll thread. Each partition it consumes carries `consumer_lag`: the
partition's high watermark (the last stable offset under read_committed) minus the committed
offset, which for keel is the contiguous watermark of finished jobs. -1 means "not known yet"
(nothing committed, or no fetch so far) and is left out rather than shown as a number.
Transaction markers after the last job count until the worker has polled past them and
committed beyond them (see `keel.consumers.pipeline.markers`), a commit interval or so.

`ConsumerLag` keeps the latest reading; replacing one dict with another is atomic, so the loop
thread reads it without a lock.
"""

import json
import logging
from collections.abc import Collection, Mapping

from keel.consumers.pipeline.records import TopicPartition

_LOG = logging.getLogger(__name__)


class ConsumerLag:
    """The latest per-partition lag librdkafka reported."""

    def __init__(self) -> None:
        self._lag: Mapping[TopicPartition, int] = {}

    def on_stats(self, stats: str) -> None:
        """librdkafka's `stats_cb`: keep the lag of every partition that has one."""
        try:
            self._lag = partition_lag(json.loads(stats))
        except (ValueError, TypeError, AttributeError) as error:
            _LOG.warning("unreadable librdkafka statistics: %s", error)

    def of(self, owned: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        """The lag of the partitions in `owned` (revoked ones may linger in the statistics)."""
        return {tp: lag for tp, lag in self._lag.items() if tp in owned}


def partition_lag(stats: Mapping[str, object]) -> dict[TopicPartition, int]:
    """`consumer_lag` by (topic, partition) from one statistics object; unknown ones left out."""
    found: dict[TopicPartition, int] = {}
    topics = stats.get("topics") or {}
    if not isinstance(topics, Mapping):
        return found
    for topic, about in topics.items():
        for partition, state in (about.get("partitions") or {}).items():
            lag = state.get("consumer_lag", -1)
            if int(partition) >= 0 and isinstance(lag, int) and lag >= 0:
                found[(topic, int(partition))] = lag
    return found
