from confluent_kafka import KafkaException, TopicPartition

from keel.consumers.pipeline.markers import PassedMarkers


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


def test_a_moved_position_is_reported_once() -> None:
    markers = PassedMarkers(every=0)
    consumer = Positions({("t", 0): 7, ("t", 1): -1001})  # 1: not fetched yet
    assert markers.passed(consumer) == {("t", 0): 7}
    assert markers.passed(consumer) == {}
    consumer.positions[("t", 0)] = 9
    assert markers.passed(consumer) == {("t", 0): 9}


def test_a_partition_that_comes_back_is_reported_again() -> None:
    markers = PassedMarkers(every=0)
    consumer = Positions({("t", 0): 7})
    assert markers.passed(consumer) == {("t", 0): 7}
    markers.forget([("t", 0)])
    assert markers.passed(consumer) == {("t", 0): 7}


def test_positions_that_cannot_be_read_are_read_after_the_next_poll() -> None:
    markers = PassedMarkers(every=0)
    consumer = Positions({("t", 0): 7})
    consumer.failing = True
    assert markers.passed(consumer) == {}
    consumer.failing = False
    assert markers.passed(consumer) == {("t", 0): 7}


def test_positions_are_read_at_most_every_interval() -> None:
    now = [100.0]
    markers = PassedMarkers(every=0.2, clock=lambda: now[0])
    consumer = Positions({("t", 0): 7})
    consumer.failing = True  # a read would find nothing
    assert markers.passed(consumer) == {}
    consumer.failing = False
    now[0] += 0.1
    assert markers.passed(consumer) == {}  # not due: not read
    now[0] += 0.15
    assert markers.passed(consumer) == {("t", 0): 7}
