"""Where a new term resumes each tier: the offsets committed in the last leader's transaction.

The look-up asks the progress group's coordinator. On a cluster that has just started, the
group coordinator is still being elected or loading `__consumer_offsets`, and the broker answers
"not coordinator" or "load in progress" for a while; librdkafka hands that straight back from
`committed()` instead of retrying it. Those answers mean "ask again", not "no offsets", so they
are asked again until the term's timeout; any other error fails the term at once.
"""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

# What a coordinator says while it is elected or loads its partition of __consumer_offsets.
_NOT_YET = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
)
_AGAIN_AFTER_S = 0.2


def resume_offsets(
    consumer: Consumer, tiers: list[TopicPartition], timeout_s: float
) -> list[TopicPartition]:
    """Each tier at its committed offset, or at its beginning if none was ever committed."""
    committed = _committed(consumer, tiers, timeout_s)
    return [
        TopicPartition(t.topic, t.partition, t.offset if t.offset >= 0 else OFFSET_BEGINNING)
        for t in committed
    ]


def _committed(
    consumer: Consumer, tiers: list[TopicPartition], timeout_s: float
) -> list[TopicPartition]:
    give_up = time.monotonic() + timeout_s
    while True:
        left = give_up - time.monotonic()
        try:
            return list(consumer.committed(tiers, timeout=max(left, _AGAIN_AFTER_S)))
        except KafkaException as error:
            if error.args[0].code() not in _NOT_YET or left <= _AGAIN_AFTER_S:
                raise
        time.sleep(_AGAIN_AFTER_S)
