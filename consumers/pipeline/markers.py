"""Positions that moved past what was delivered: transaction markers and aborted records.

A record written in a Kafka transaction (a replay, the scheduler's and the delayed-job
dispatcher's releases) is followed by a commit marker that takes an offset of its own, and a
`read_committed` consumer never delivers a marker or an aborted record. The watermark of
finished jobs (see `offsets`) ends one past the last record *delivered*, so without more a
partition whose last write was transactional stayed one short of its end for good: lag 1 on
every reading of it, with nothing left to run.

librdkafka knows better: its position (the next offset the application would be given) moves
past control records and aborted ones on the poll after the last delivered record (measured on
librdkafka 2.16: after offset 2 of `p0 t1 t2 <marker>` the position is 3, one empty poll later
4). `PassedMarkers` runs on the poll thread: after a poll it reads the positions of the owned
partitions and reports those that moved since its last read. The report goes to the loop after
the poll's batch, so the engine has received every record below the reported position (or will
never be given it) when it reads the report; it moves its watermark there only when nothing
received is unfinished (`PartitionOffsets.pass_to`). A job still running keeps the watermark at
its own offset.

The same lag of 1 is known from every client that commits "last record + 1" by hand
(librdkafka issue 3917, KAFKA-6607); the advice there is the position, as here.
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from confluent_kafka import KafkaException, TopicPartition

from keel.consumers.pipeline import records

_LOG = logging.getLogger(__name__)
Positions = Mapping[records.TopicPartition, int]
# How often the poll thread reads the positions (seconds).
READ_EVERY = 0.2


class Positioned(Protocol):
    """What reading positions needs of the consumer (`confluent_kafka.Consumer` fits it)."""

    def assignment(self) -> list[TopicPartition]: ...
    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]: ...


class PassedMarkers:
    """Per partition, the furthest position reported to the engine.

    Positions are read at most every `every` seconds: a read costs 14 us with 12 partitions
    and 88 us with 96 (measured), too much after every poll of a busy worker, and a marker
    commits no later than a commit interval after the read that passes it anyway. A position
    just past the last delivered record is reported too (the engine finds nothing to move):
    tracking each delivered record to leave those out cost more per record than it saves.
    """

    __slots__ = ("_clock", "_every", "_known", "_next_read")

    def __init__(
        self, every: float = READ_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._known: dict[records.TopicPartition, int] = {}
        self._every = every
        self._clock = clock
        self._next_read = 0.0

    def passed(self, consumer: Positioned) -> dict[records.TopicPartition, int]:
        """The owned partitions whose position moved beyond the one last reported.

        Empty, without a read, until `every` seconds have passed since the last read.
        """
        moved: dict[records.TopicPartition, int] = {}
        now = self._clock()
        if now < self._next_read:
            return moved
        self._next_read = now + self._every
        known = self._known
        try:
            positions = consumer.position(consumer.assignment())
        except KafkaException as error:  # read again after the next poll
            _LOG.debug("cannot read positions: %s", error)
            return moved
        for tp in positions:
            offset = tp.offset
            key = (tp.topic, tp.partition)
            if offset >= 0 and offset > known.get(key, -1):
                known[key] = offset
                moved[key] = offset
        return moved

    def forget(self, tps: Sequence[records.TopicPartition]) -> None:
        """The partitions left this consumer: their positions start over when they come back."""
        for tp in tps:
            self._known.pop(tp, None)
