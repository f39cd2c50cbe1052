"""Inspecting dead letters and replaying them to their origin topic, once.

A replay writes the record's original key and value to the topic it came from, with the
original job headers, `keel-attempt` reset to 1, and an audit trail (`keel-replay-of`: which
dead-letter record, `keel-replayed-at`). Each replay is also recorded in a compacted ledger
topic beside the dead-letter topic (`T.dlt.replays`, keyed by dead-letter partition:offset), in
the same Kafka transaction as the replayed record: a record is replayed exactly once, however
often `replay` runs and wherever it stops. A replayed job that blocked its key brings the
key's parked jobs and a resume marker behind it (`quarantine.replay_order`).
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.cimpl import NewTopic

from keel.consumers.dead_letters import quarantine
from keel.consumers.dead_letters.headers import header_map
from keel.consumers.pipeline.records import Header
from keel.schemas import clients
from keel.schemas.headers import (
    ATTEMPT,
    DEAD_LETTER_HEADERS,
    DLT_ERROR_CLASS,
    DLT_JOB_TYPE,
    DLT_LAST_FAILURE,
    DLT_ORIGIN_TOPIC,
    REPLAY_OF,
    REPLAYED_AT,
)
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import DEAD_LETTER_SUFFIX

LEDGER_SUFFIX = ".replays"
_NO_LEADER_YET = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)
BATCH = 200


@dataclass(frozen=True)
class Letter:
    """One record of a dead-letter topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    raw_headers: tuple[Header, ...]

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def headers(self) -> dict[str, str]:
        return header_map(self.raw_headers)

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass(frozen=True)
class Selection:
    """Which dead letters to act on; empty fields select everything."""

    job_type: str | None = None
    error_class: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def __call__(self, letter: Letter) -> bool:
        headers = letter.headers
        failed_at = int(headers.get(DLT_LAST_FAILURE) or 0)
        return (
            (self.job_type is None or headers.get(DLT_JOB_TYPE) == self.job_type)
            and (self.error_class is None or headers.get(DLT_ERROR_CLASS) == self.error_class)
            and (self.since_ms is None or failed_at >= self.since_ms)
            and (self.until_ms is None or failed_at < self.until_ms)
        )


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    already_replayed: int
    not_selected: int


def dead_letter_name(topic: str) -> str:
    """Accept either a job topic or its dead-letter topic."""
    return topic if topic.endswith(DEAD_LETTER_SUFFIX) else f"{topic}{DEAD_LETTER_SUFFIX}"


def read_letters(cluster: ClusterSettings, topic: str, timeout: float = 30.0) -> list[Letter]:
    """Every record of `topic` up to its current end, in partition then offset order."""
    return [
        Letter(topic, m.partition(), m.offset(), m.key(), m.value(), tuple(m.headers() or ()))
        for m in _read_to_end(cluster, topic, timeout, read_committed=False)
    ]


def replayed_ids(cluster: ClusterSettings, dead_letters: str, timeout: float = 30.0) -> set[str]:
    """The dead-letter records already replayed, from the ledger."""
    ledger = dead_letters + LEDGER_SUFFIX
    return {
        (m.key() or b"").decode()
        for m in _read_to_end(cluster, ledger, timeout, read_committed=True)
        if m.value() is not None
    }


def replay(
    cluster: ClusterSettings,
    dead_letters: str,
    selection: Selection = Selection(),
    rate: float | None = None,
) -> ReplayReport:
    """Replay the selected, not yet replayed dead letters to their origin topics."""
    ensure_ledger(cluster, dead_letters)
    done = replayed_ids(cluster, dead_letters)
    letters = read_letters(cluster, dead_letters)
    selected = [x for x in letters if selection(x) and x.id not in done]
    chosen = quarantine.replay_order(letters, selected, done)
    skipped = sum(1 for x in letters if selection(x) and x.id in done)
    sent = sum(1 for x in chosen if isinstance(x, Letter))
    producer = clients.producer(
        cluster,
        {
            "transactional.id": f"keel-dlt-replay-{dead_letters}",
            "message.max.bytes": 4 * 1024 * 1024,
        },
    )
    producer.init_transactions(30)
    started = time.monotonic()
    for index in range(0, len(chosen), BATCH):
        producer.begin_transaction()
        for count, item in enumerate(chosen[index : index + BATCH], start=index):
            _pace(started, count, rate)
            if isinstance(item, quarantine.Resume):
                quarantine.produce_resume(producer, item)
            else:
                produce_replay(producer, dead_letters, item)
        producer.commit_transaction(60)
    return ReplayReport(sent, skipped, len(letters) - sent - skipped)


def replay_headers(letter: Letter, now_ms: int) -> list[Header]:
    """The original job headers, attempt reset, plus where and when the replay came from."""
    kept = [
        (name, value)
        for name, value in letter.raw_headers
        if name not in DEAD_LETTER_HEADERS
        and name not in {ATTEMPT, REPLAY_OF, REPLAYED_AT}
        and name not in quarantine.QUARANTINE_HEADERS
    ]
    return [
        *kept,
        *quarantine.replay_tag(letter),
        (ATTEMPT, b"1"),
        (REPLAY_OF, f"{letter.topic}/{letter.id}".encode()),
        (REPLAYED_AT, str(now_ms).encode()),
    ]


def ensure_ledger(cluster: ClusterSettings, dead_letters: str) -> None:
    admin = clients.admin(cluster)
    ledger = dead_letters + LEDGER_SUFFIX
    if ledger in admin.list_topics(timeout=30).topics:
        return
    topic = NewTopic(ledger, num_partitions=1, config={"cleanup.policy": "compact"})
    try:
        admin.create_topics([topic])[ledger].result(timeout=30)
    except KafkaException as error:
        if "TOPIC_ALREADY_EXISTS" not in str(error):
            raise


def produce_replay(producer: Producer, dead_letters: str, letter: Letter) -> None:
    origin = letter.header(DLT_ORIGIN_TOPIC)
    if not origin:
        raise ValueError(f"{letter.topic}/{letter.id} has no {DLT_ORIGIN_TOPIC} header")
    headers: Any = replay_headers(letter, int(time.time() * 1000))
    producer.produce(origin, letter.value, letter.key, headers=headers)
    producer.produce(dead_letters + LEDGER_SUFFIX, origin.encode(), letter.id.encode())
    producer.poll(0)


def _pace(started: float, count: int, rate: float | None) -> None:
    if rate:
        wait = started + count / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _read_to_end(
    cluster: ClusterSettings, topic: str, timeout: float, *, read_committed: bool
) -> Iterator[Any]:
    consumer = clients.consumer(
        cluster,
        "keel-dlt-tools",  # never joins or commits: partitions are assigned
        {
            "enable.auto.commit": False,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        },
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return
        yield from _drain(consumer, topic, sorted(metadata.partitions), timeout)
    finally:
        consumer.close()


def _drain(
    consumer: Consumer, topic: str, partitions: Sequence[int], timeout: float
) -> Iterator[Any]:
    deadline = time.monotonic() + timeout
    ends = {p: _end_offset(consumer, TopicPartition(topic, p), deadline) for p in partitions}
    pending = {p for p, end in ends.items() if end > 0}
    consumer.assign([TopicPartition(topic, p, 0) for p in pending])
    found: list[Any] = []
    while pending and time.monotonic() < deadline:
        for message in consumer.consume(500, 0.2):
            if message.error() is not None:
                continue
            found.append(message)
            partition, offset = message.partition() or 0, message.offset() or 0
            if offset >= ends[partition] - 1:
                pending.discard(partition)
        if pending:
            pending = {p for p in pending if _position(consumer, topic, p) < ends[p]}
    found.sort(key=lambda m: (m.partition(), m.offset()))
    yield from found


def _end_offset(consumer: Consumer, partition: TopicPartition, deadline: float) -> int:
    """The partition's end offset, asked again while a topic created moments ago (the replay
    ledger, on a first replay) has no leader yet."""
    while True:
        try:
            left = max(deadline - time.monotonic(), 0.1)
            return int(consumer.get_watermark_offsets(partition, left)[1])
        except KafkaException as error:
            if error.args[0].code() not in _NO_LEADER_YET or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _position(consumer: Consumer, topic: str, partition: int) -> int:
    [tp] = consumer.position([TopicPartition(topic, partition)])
    return int(tp.offset)
