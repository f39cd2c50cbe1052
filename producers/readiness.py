"""Opening a publisher warm, so that its first `publish` costs what every later one does.

A fresh idempotent librdkafka producer opens no broker connection until something needs one.
Its producer id (`InitProducerId`) is asked for at creation, finds no broker up, and is retried
on librdkafka's fixed 500 ms timer; the first record to a topic then also waits for that
topic's metadata, asked for on the first `produce`. Measured, that put ~500 ms into the first
publish after opening (`keel bench publish-latency`, `first_publish_ms`).

`wait_until_ready` asks the producer itself for the metadata of every routed topic when the
publisher opens. That connects it to the cluster (an idempotent producer then asks for its id at
once, no longer on the timer: measured 7-9 ms from here to the first acknowledged record, where
it was 505-513 ms), fills librdkafka's metadata cache with each topic's partitions and leaders,
and waits, within a bound, for a just-created topic to have a leader for every partition (else
the first batch meets NOT_LEADER and a retry). A cluster that does not answer within the bound
is an error at start-up, `BrokerUnavailableError`, not a delivery timeout at the first request.
A routed topic that does not exist is left for publishing to report, as before.
"""

import time

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin._metadata import TopicMetadata

from keel.producers.errors import BrokerUnavailableError

_RETRY_S = 0.05
_MISSING = {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.TOPIC_AUTHORIZATION_FAILED}


def wait_until_ready(producer: Producer, topics: list[str], timeout_s: float) -> None:
    """Return once the cluster has answered for every topic in `topics` with its leaders.

    Raises `BrokerUnavailableError` after `timeout_s` without that; 0 skips the wait.
    """
    if timeout_s <= 0:
        return
    deadline = time.monotonic() + timeout_s
    # No routes: a connection is all there is to wait for.
    waiting: list[str | None] = list(topics) or [None]
    while waiting:
        waiting = [topic for topic in waiting if not _ready(producer, topic, deadline)]
        if waiting and time.monotonic() >= deadline:
            raise BrokerUnavailableError(_not_ready(waiting, timeout_s))
        if waiting:
            time.sleep(_RETRY_S)


def _ready(producer: Producer, topic: str | None, deadline: float) -> bool:
    """Whether `topic`'s metadata came back complete (or says it does not exist)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    try:
        metadata = producer.list_topics(topic, timeout=remaining)
    except KafkaException:  # no broker answered in time
        return False
    if topic is None:
        return True
    found = metadata.topics.get(topic)
    return found is not None and _led(found)


def _led(topic: TopicMetadata) -> bool:
    if topic.error is not None:
        return bool(topic.error.code() in _MISSING)
    partitions = topic.partitions.values()
    return bool(partitions) and all(p.error is None and p.leader >= 0 for p in partitions)


def _not_ready(topics: list[str | None], timeout_s: float) -> str:
    named = ", ".join(t for t in topics if t is not None)
    what = f"the metadata of {named}" if named else "a connection"
    return (
        f"the publisher could not open: no broker gave {what} within {timeout_s:g} s; is "
        f"KAFKA_BOOTSTRAP_SERVERS right and the cluster up? (KEEL_OPEN_TIMEOUT_MS sets the wait)"
    )
