"""How far each schedule has fired, kept in a compacted topic that only the leader writes.

One record per fire, keyed by schedule name, whose value says every fire time up to `through`
has been handled (published, or skipped by the catch-up policy). It is written in the same Kafka
transaction as the jobs it accounts for, so the two are visible together or not at all, and read
with `read_committed`, so an aborted or fenced attempt leaves no trace. Compaction keeps the
latest value per schedule, which is all a new leader needs.

Fire ids are derived from the schedule and the fire time alone (a UUIDv7 whose random bits are a
hash of both), so the job of one fire carries the same id whoever publishes it: a consumer can
tell a repeated fire from a new one.
"""

import hashlib
import json
import time
from datetime import datetime, timedelta
from uuid import UUID

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from keel.producers.scheduler.triggers import EPOCH
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

STATE_CONFIG = {"cleanup.policy": "compact"}
_MS = timedelta(milliseconds=1)
_READ_TIMEOUT_S = 30.0


def to_ms(moment: datetime) -> int:
    return (moment - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * _MS


def encode_state(through: datetime) -> bytes:
    return json.dumps({"through_ms": to_ms(through)}).encode()


def decode_state(value: bytes) -> datetime:
    return from_ms(int(json.loads(value)["through_ms"]))


def fire_id(scope: str, at: datetime) -> str:
    """The job id of the fire of `scope` (scheduler/schedule) at `at`: the same on every run."""
    ms = to_ms(at)
    digest = int.from_bytes(hashlib.sha256(f"{scope}@{ms}".encode()).digest()[:10], "big")
    value = (ms & (2**48 - 1)) << 80  # UUIDv7: 48 bits of milliseconds first, so ids sort
    value |= 0x7 << 76 | ((digest >> 64) & 0x0FFF) << 64  # version, then 12 hashed bits
    value |= 0b10 << 62 | (digest & (2**62 - 1))  # RFC 9562 variant, then 62 hashed bits
    return str(UUID(int=value))


def ensure_state_topic(cluster: ClusterSettings, topic: str, replication_factor: int) -> None:
    """One compacted partition: one leader, and order between its writes."""
    admin = clients.admin(cluster)
    ensure_topics(admin, {topic: 1}, replication_factor, config=STATE_CONFIG)


def read_state(cluster: ClusterSettings, topic: str) -> dict[str, datetime]:
    """The latest committed `through` of every schedule, read to the end of the topic."""
    reader = clients.consumer(
        cluster,
        "keel-scheduler-state-reader",  # required by librdkafka; never commits
        {
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        },
    )
    try:
        return _read_to_end(reader, TopicPartition(topic, 0))
    finally:
        reader.close()


def _read_to_end(reader: Consumer, partition: TopicPartition) -> dict[str, datetime]:
    start, end = reader.get_watermark_offsets(partition, timeout=_READ_TIMEOUT_S)
    state: dict[str, datetime] = {}
    if end <= start:
        return state
    reader.assign([TopicPartition(partition.topic, 0, OFFSET_BEGINNING)])
    deadline = time.monotonic() + _READ_TIMEOUT_S
    # Transaction markers are never returned as messages, so the position, not the last
    # message's offset, says when the end is reached.
    while reader.position([partition])[0].offset < end:
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not read scheduler state {partition.topic} to its end")
        message = reader.poll(0.2)
        if message is None or message.error() is not None:
            continue
        key, value = message.key(), message.value()
        if key is not None and value is not None:
            state[key.decode()] = decode_state(value)
    return state
