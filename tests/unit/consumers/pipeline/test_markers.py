from dataclasses import dataclass

from confluent_kafka import KafkaException, TopicPartition

from keel.consumers.pipeline.markers import PassedMarkers
from keel.consumers.pipeline.records import Header


@dataclass
class Record:
    """A delivered record, as far as `PassedMarkers` reads one."""

    _topic: str
    _partition: int
    _offset: int
    _error: object | None = None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def error(self) -> object | None:
        return self._error

    def key(self) -> bytes | None:
        return None

    def value(self) -> bytes | None:
        return None

    def headers(self) -> list[Header] | None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (0, 0)


class Positions:
    """A consumer that owns some partitions at the given positions."""

    def __init__(self, positions: dict[tuple[str, int], int]) -> None:
        self.positions = positions
        self.failing = False

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(topic, partition) for topic, partition in self.positions]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        if self.failing:
            raise KafkaException("broker away")
        return [
            TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)])
            for tp in partitions
        ]


def test_a_position_just_past_the_delivered_records_is_not_reported() -> None:
    markers = PassedMarkers()
    markers.delivered([Record("t", 0, 4), Record("t", 0, 5)])
    assert markers.passed(Positions({("t", 0): 6})) == {}


def test_a_position_past_a_marker_is_reported_once() -> None:
    markers = PassedMarkers()
    markers.delivered([Record("t", 0, 5)])
    consumer = Positions({("t", 0): 7, ("t", 1): -1001})  # 6: a marker; 1: not fetched yet
    assert markers.passed(consumer) == {("t", 0): 7}
    assert markers.passed(consumer) == {}


def test_error_events_count_as_no_delivery() -> None:
    markers = PassedMarkers()
    markers.delivered([Record("t", 0, 5), Record("t", 0, 7, _error="partition eof at 7")])
    assert markers.passed(Positions({("t", 0): 7})) == {("t", 0): 7}


def test_a_partition_that_comes_back_is_reported_again() -> None:
    markers = PassedMarkers()
    consumer = Positions({("t", 0): 7})
    assert markers.passed(consumer) == {("t", 0): 7}
    markers.forget([("t", 0)])
    assert markers.passed(consumer) == {("t", 0): 7}


def test_positions_that_cannot_be_read_are_read_after_the_next_poll() -> None:
    markers = PassedMarkers()
    consumer = Positions({("t", 0): 7})
    consumer.failing = True
    assert markers.passed(consumer) == {}
    consumer.failing = False
    assert markers.passed(consumer) == {("t", 0): 7}
