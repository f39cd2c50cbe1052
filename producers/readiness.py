"""Opening a publisher warm, so that its first `publish` costs what every later one does.

A fresh idempotent librdkafka producer opens no broker connection until something needs one.
Its producer id (`InitProducerId`) is asked for at creation, finds no broker up, and is retried
on librdkafka's fixed 500 ms timer; the first record to a topic then also waits for that
topic's metadata, asked for on the first `produce`. Measured, that put ~500 ms into the first
publish after opening (`keel bench publish-latency`, `first_publish_ms`).

`wait_until_ready` asks the producer itself for the metadata of every routed topic when the
publisher opens. That connects it to the cluster, fills librdkafka's metadata cache with each
topic's partitions and leaders, and waits, within a bound, for a just-created topic to have a
leader for every partition (else the first batch meets NOT_LEADER and a retry). Connecting
alone does not always bring the producer id forward (in some runs the id request still waited
for the timer), and librdkafka has no call that tells when the id is assigned; its `eos` debug
context does, so an idempotent producer is made with that context and a `ProducerIdWatch` as
its logger, and opening waits for the "-> Assigned" line. That context logs about three lines
per partition in a producer's life (the id's first use), measured 36 lines in 50,000 records.
Every other line librdkafka logs (warnings and errors, which it would otherwise print to
stderr) goes on to the `keel.producers.librdkafka` logger.

A cluster that does not answer within the bound is an error at start-up,
`BrokerUnavailableError`, not a delivery timeout at the first request. A routed topic that does
not exist is left for publishing to report, as before. A producer configured with its own
`debug` or `logger` keeps them, and opening then waits for metadata only.
"""

import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin._metadata import TopicMetadata

from keel.producers.errors import BrokerUnavailableError

_RETRY_S = 0.05
_ID_POLL_S = 0.005
_MISSING = {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.TOPIC_AUTHORIZATION_FAILED}
_ASSIGNED = "Idempotent producer state change WaitPID -> Assigned"
_LOG = logging.getLogger("keel.producers.librdkafka")


class ProducerIdWatch:
    """A librdkafka logger that notices the producer id being assigned, and forwards the rest."""

    def __init__(self) -> None:
        self.assigned = threading.Event()

    def log(self, level: int, fmt: str, *args: object) -> None:
        if level > logging.DEBUG:
            _LOG.log(level, fmt, *args)
        elif not self.assigned.is_set() and _ASSIGNED in (fmt % args if args else fmt):
            self.assigned.set()


def watched(
    config: dict[str, Any], timeout_s: float
) -> tuple[dict[str, Any], ProducerIdWatch | None]:
    """`config` with a `ProducerIdWatch` as its logger, when opening is to wait for the id."""
    waits = timeout_s > 0 and bool(config.get("enable.idempotence"))
    if not waits or "debug" in config or "logger" in config:
        return config, None
    watch = ProducerIdWatch()
    return {**config, "debug": "eos", "logger": watch}, watch


def wait_until_ready(
    producer: Producer,
    topics: list[str],
    timeout_s: float,
    watch: ProducerIdWatch | None = None,
) -> None:
    """Return once the cluster has answered for every topic in `topics` with its leaders, and
    the producer id is assigned (when a `watch` looks out for it).

    Raises `BrokerUnavailableError` after `timeout_s` without that; 0 skips the wait.
    """
    if timeout_s <= 0:
        return
    deadline = time.monotonic() + timeout_s
    _wait_for_metadata(producer, topics, timeout_s, deadline)
    if watch is not None:
        _wait_for_producer_id(producer, watch, timeout_s, deadline)


def _wait_for_metadata(
    producer: Producer, topics: list[str], timeout_s: float, deadline: float
) -> None:
    # No routes: a connection is all there is to wait for.
    waiting: list[str | None] = list(topics) or [None]
    while waiting:
        waiting = [topic for topic in waiting if not _ready(producer, topic, deadline)]
        if waiting and time.monotonic() >= deadline:
            raise BrokerUnavailableError(_not_ready(waiting, timeout_s))
        if waiting:
            time.sleep(_RETRY_S)


def _wait_for_producer_id(
    producer: Producer, watch: ProducerIdWatch, timeout_s: float, deadline: float
) -> None:
    # The log lines reach the watch from `poll`; no job is queued yet, so none is reported.
    while not watch.assigned.is_set():
        if time.monotonic() >= deadline:
            raise BrokerUnavailableError(
                f"the publisher could not open: the cluster gave no producer id within "
                f"{timeout_s:g} s (KEEL_OPEN_TIMEOUT_MS sets the wait)"
            )
        producer.poll(_ID_POLL_S)


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
