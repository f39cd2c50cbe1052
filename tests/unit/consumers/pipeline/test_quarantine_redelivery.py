"""A new owner of a partition with a held key: the blocking job and the jobs before it, delivered
again, are not parked."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from keel.consumers.pipeline.offsets import PartitionOffsets
from keel.consumers.pipeline.partition import PartitionState, RecordState
from keel.consumers.pipeline.quarantine import Done, Hold, KeyQuarantine
from keel.consumers.pipeline.records import TopicPartition

TP: TopicPartition = ("jobs.steps", 0)
KEY = b"account-1"
HOLD = Hold("jobs.steps/0/6", "job-3")


@dataclass
class FakeMessage:
    """A keyed job record of the partition, at `at`."""

    at: int

    def topic(self) -> str:
        return TP[0]

    def partition(self) -> int:
        return TP[1]

    def offset(self) -> int:
        return self.at

    def key(self) -> bytes:
        return KEY

    def value(self) -> bytes:
        return b"job"

    def headers(self) -> None:
        return None


class Source:
    def holds(self, tp: TopicPartition) -> Mapping[bytes, Hold]:
        return {KEY: HOLD} if tp == TP else {}

    def durable(self) -> bool:
        return True


class Keeper:
    def __init__(self) -> None:
        self.parked: list[int] = []

    def park(self, record: RecordState, hold: Hold, done: Done) -> None:
        self.parked.append(record.message.offset() or 0)

    def save(self, tp: TopicPartition, key: bytes, hold: Hold | None, done: Done) -> None:
        raise AssertionError("nothing is dead-lettered here")


def record_at(offset: int, part: PartitionState) -> RecordState:
    return RecordState(FakeMessage(offset), part, offset)  # type: ignore[arg-type]


async def test_an_earlier_job_runs_the_blocker_is_finished_and_later_ones_are_parked() -> None:
    finished: list[int] = []
    keeper = Keeper()
    quarantine = KeyQuarantine(
        keeper,
        Source(),
        default=True,
        finish=lambda r: finished.append(r.message.offset() or 0),
        given_up=lambda r: None,
    )
    quarantine.assign(TP)
    part = PartitionState(TP, PartitionOffsets(6))
    await asyncio.sleep(0)

    assert not quarantine.takes(record_at(3, part))  # a job before the blocker: it runs
    assert quarantine.takes(record_at(6, part))  # the blocker: its dead letter is written
    assert quarantine.takes(record_at(9, part))  # a job behind it: parked again

    assert finished == [6]
    assert keeper.parked == [9]
