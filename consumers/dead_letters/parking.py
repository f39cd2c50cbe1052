"""Where key quarantine keeps its state and its parked records: Kafka, through the sink.

A parked record goes to its topic's dead-letter topic, like a dead letter, with reason
`quarantined` and `keel-blocked-by` / `keel-blocked-by-job` naming the job that holds its key:
the tools find a key's parked jobs next to the job that blocks them, and one topic (and one
ACL) serves both. A parking topic of its own would need the same partitions, ACLs and tools
again, and would split what an operator reads to understand one key.

The holds of a consumer group live in one compacted topic, `keel.quarantine.<group>` (one
partition): keyed by `topic NUL key`, the value a small JSON object (the partition, the
blocking job, the last offset parked behind it), a tombstone once the hold ends. Compaction
keeps it about as large as the keys held now; a new owner of a partition reads it to its end
before the partition's first record runs (`HoldReader.read`, called by the source on
assignment).
"""

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.cimpl import NewTopic

from keel.consumers.dead_letters.headers import Failure, Origin, dead_letter_headers
from keel.consumers.dead_letters.sink import DeadLetterSink
from keel.consumers.pipeline import records
from keel.consumers.pipeline.engine import Names
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.pipeline.quarantine import PARKED, Done, Hold
from keel.schemas import clients
from keel.schemas.access import refusal
from keel.schemas.headers import BLOCKED_BY, BLOCKED_BY_JOB, JOB_TYPE, header_value
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import quarantine_topic

_LOG = logging.getLogger(__name__)
READ_TIMEOUT = 30.0
WATERMARK_TIMEOUT = 5.0
# Compact soon: the topic is read whole on every assignment.
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
    "delete.retention.ms": "86400000",
}
_NOT_YET = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TIMED_OUT,
    }
)
NOT_AUTHORIZED = "not authorized to "  # how `refused_write` begins a refusal
QUARANTINE_HEADERS = frozenset({BLOCKED_BY, BLOCKED_BY_JOB})


def state_key(topic: str, key: bytes) -> bytes:
    """The state record's key: a topic name never holds NUL."""
    return topic.encode() + b"\0" + key


def encode_hold(partition: int, key: bytes, hold: Hold) -> bytes:
    return json.dumps(
        {
            "partition": partition,
            "key": base64.b64encode(key).decode(),
            "blocker": hold.blocker,
            "job_id": hold.job_id,
            "parked_through": hold.parked_through,
        }
    ).encode()


def decode_hold(value: bytes) -> tuple[int, bytes, Hold]:
    found = json.loads(value)
    hold = Hold(found["blocker"], found["job_id"], int(found["parked_through"]))
    return int(found["partition"]), base64.b64decode(found["key"]), hold


def fold(
    entries: Iterable[tuple[bytes | None, bytes | None]],
) -> dict[records.TopicPartition, dict[bytes, Hold]]:
    """The holds that state records add up to: the last value per key wins, a tombstone ends it."""
    latest: dict[bytes, bytes | None] = {}
    for key, value in entries:
        if key is not None:
            latest[key] = value
    holds: dict[records.TopicPartition, dict[bytes, Hold]] = {}
    for key, value in latest.items():
        if value is None:
            continue
        topic = key.split(b"\0", 1)[0].decode()
        partition, job_key, hold = decode_hold(value)
        holds.setdefault((topic, partition), {})[job_key] = hold
    return holds


class KafkaKeeper:
    """Parks records in the dead-letter topic and saves holds in the group's state topic."""

    def __init__(
        self,
        sink: DeadLetterSink,
        names: Names,
        group: str,
        durable: Callable[[], bool] = lambda: True,
    ) -> None:
        """`durable()` False: the state topic cannot be used, holds stay in memory (logged)."""
        self._sink = sink
        self._durable = durable
        self._names = names
        self._group = group
        self._topic = quarantine_topic(group)
        self._refused = False

    def park(self, record: RecordState, hold: Hold, done: Done) -> None:
        message = record.message
        now = int(time.time() * 1000)
        job_type = header_value(message.headers(), JOB_TYPE)
        failure = Failure(
            reason=PARKED,
            error_class="",
            message=f"its key is quarantined behind {hold.blocker} (job {hold.job_id})",
            traceback="",
            attempts=0,
            first_failure_ms=now,
            last_failure_ms=now,
            job_type=job_type.decode("utf-8", "replace") if job_type else None,
        )
        topic = message.topic() or ""
        origin = Origin(
            topic, message.partition() or 0, message.offset() or 0, message.timestamp()[1]
        )
        original = [(n, v) for n, v in message.headers() or () if n not in QUARANTINE_HEADERS]
        headers = dead_letter_headers(origin, self._group, failure, original)
        headers += [(BLOCKED_BY, hold.blocker.encode()), (BLOCKED_BY_JOB, hold.job_id.encode())]
        self._sink.publish(
            self._names.dead_letter_topic(topic), message.key(), message.value(), headers, done
        )

    def save(self, tp: records.TopicPartition, key: bytes, hold: Hold | None, done: Done) -> None:
        if not self._durable():
            self._saved(done, f"{NOT_AUTHORIZED}read or write {self._topic}, or it is missing")
            return
        value = None if hold is None else encode_hold(tp[1], key, hold)
        self._sink.publish(
            self._topic, state_key(tp[0], key), value, [], partial(self._saved, done)
        )

    def _saved(self, done: Done, error: str | None) -> None:
        """A refused write keeps the hold in this worker only (the access check warned at start):
        the key is still held here, and a new owner no longer knows it. Other errors are retried.
        """
        if error is not None and error.startswith(NOT_AUTHORIZED):
            if not self._refused:
                _LOG.error("holds kept in memory only, lost on a restart: %s", error)
                self._refused = True
            error = None
        done(error)


class HoldReader:
    """Reads the group's holds on assignment (poll thread); the engine takes them (loop)."""

    def __init__(self, connect: Callable[[], Consumer], group: str) -> None:
        self._connect = connect
        self._topic = quarantine_topic(group)
        self._lock = threading.Lock()
        self._read: dict[records.TopicPartition, dict[bytes, Hold]] = {}
        self._durable = True

    def read(self, tps: list[records.TopicPartition]) -> None:
        """Read the state topic to its end; keep the holds of `tps` for `holds`."""
        entries = read_state(self._connect, self._topic)
        self._durable = entries is not None
        found = fold(entries or [])
        with self._lock:
            for tp in tps:
                self._read[tp] = found.get(tp, {})

    def holds(self, tp: records.TopicPartition) -> Mapping[bytes, Hold]:
        with self._lock:
            return self._read.pop(tp, {})

    def durable(self) -> bool:
        return self._durable


def read_state(
    connect: Callable[[], Consumer], topic: str, timeout: float = READ_TIMEOUT
) -> list[tuple[bytes | None, bytes | None]] | None:
    """Every (key, value) of the one-partition state topic up to its end; raises on a timeout.

    None when the topic is missing or refused."""
    consumer = connect()
    try:
        partition = TopicPartition(topic, 0)
        marks = _watermarks(consumer, partition, timeout)
        if marks is None:
            return None
        low, high = marks
        if high <= low:
            return []
        consumer.assign([TopicPartition(topic, 0, low)])
        found: list[tuple[bytes | None, bytes | None]] = []
        deadline = time.monotonic() + timeout
        position = low
        while position < high:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout}s")
            for message in consumer.consume(500, 0.2):
                if message.error() is not None:
                    continue
                found.append((message.key(), message.value()))
                position = max(position, (message.offset() or 0) + 1)
            if position < high:
                [tp] = consumer.position([partition])
                position = max(position, tp.offset)  # compacted away or control records
        return found
    finally:
        consumer.close()


def _watermarks(
    consumer: Consumer, partition: TopicPartition, timeout: float
) -> tuple[int, int] | None:
    """The state topic's offsets; None when it cannot be read (missing, or refused: logged)."""
    topic = partition.topic
    found = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if found is None or found.error is not None:
        why = found.error if found is not None else "missing"
        _LOG.error("held keys not read from %s (%s): none are held here", topic, why)
        return None
    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, WATERMARK_TIMEOUT)
            return int(low), int(high)
        except KafkaException as raised:
            error: KafkaError = raised.args[0]
            if error.code() not in _NOT_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # created moments ago: no leader yet


def state_reader(cluster: ClusterSettings) -> Callable[[], Consumer]:
    """A consumer that reads the state topic by assignment: it never joins or commits."""

    def connect() -> Consumer:
        config: dict[str, Any] = {"enable.auto.commit": False, "auto.offset.reset": "earliest"}
        return clients.consumer(cluster, "keel-quarantine-reader", config)

    return connect


def ensure_state_topic(cluster: ClusterSettings, group: str, replication: int = -1) -> None:
    """Create the group's state topic if it is missing (compacted, one partition)."""
    admin = clients.admin(cluster)
    name = quarantine_topic(group)
    if name in admin.list_topics(timeout=30).topics:
        return
    topic = NewTopic(name, num_partitions=1, replication_factor=replication, config=TOPIC_CONFIG)
    try:
        admin.create_topics([topic])[name].result(timeout=30)
        _LOG.info("created quarantine topic %s", name)
    except KafkaException as error:
        why = refusal(error.args[0], "Create", name)
        if why is not None:
            _LOG.warning("quarantine topic %s not created: %s", name, why)
        elif error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
