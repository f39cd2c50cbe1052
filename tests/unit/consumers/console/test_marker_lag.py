from typing import cast

from confluent_kafka import Consumer, TopicPartition

from keel.consumers.console.groups import PartitionLag, passed_the_end


class Reader:
    """A reader whose position on each partition is given."""

    def __init__(self, positions: dict[tuple[str, int], int]) -> None:
        self.positions = positions

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)])
            for tp in partitions
        ]


def lag(partition: int, committed: int, end: int) -> PartitionLag:
    return PartitionLag("t", partition, committed, end, None)


def test_a_reader_at_the_end_without_a_record_passed_only_markers() -> None:
    reader = Reader({("t", 0): 3, ("t", 1): 2, ("t", 2): -1001})
    behind = [lag(0, 2, 3), lag(1, 1, 3), lag(2, 1, 3)]
    # 0: at its end; 1: past a marker, not yet at the end; 2: nothing fetched yet
    assert passed_the_end(cast(Consumer, reader), behind, {}) == [("t", 0)]


def test_a_partition_whose_record_was_found_is_not_asked_again() -> None:
    reader = Reader({})  # asking for a position would fail: there is none
    assert passed_the_end(cast(Consumer, reader), [lag(0, 2, 3)], {("t", 0): 1000}) == []


def test_only_markers_count_as_no_lag() -> None:
    marked = PartitionLag("t", 0, 2, 3, None, 0.0, only_markers=True)
    assert (marked.lag, lag(0, 2, 3).lag) == (0, 1)
