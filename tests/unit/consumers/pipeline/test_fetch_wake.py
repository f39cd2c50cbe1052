"""A partition that flow control resumes is fetched at once, not on librdkafka's next tick."""

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from keel.consumers import WorkerSettings
from keel.consumers.pipeline.source import wake_fetcher


class _Consumer:
    """Records the offsets requests; answers none in time, as a request not waited for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, float, bool]] = []

    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float, cached: bool
    ) -> tuple[int, int] | None:
        self.asked.append((partition.topic, partition.partition, timeout, cached))
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT))


def test_each_resumed_partitions_leader_is_sent_a_request_not_waited_for() -> None:
    consumer = _Consumer()
    wake_fetcher(consumer, [TopicPartition("jobs", 0), TopicPartition("jobs", 3)])
    # a request to the broker (not the cache), which wakes its thread; no wait for the answer
    assert consumer.asked == [("jobs", 0, 0.0, False), ("jobs", 3, 0.0, False)]


def test_the_fetch_in_flight_that_a_resumed_partition_waits_for_is_a_short_poll() -> None:
    config = WorkerSettings(topics=("jobs",)).to_confluent("group")
    assert config["fetch.wait.max.ms"] == 50
    custom = WorkerSettings(topics=("jobs",), consumer_config={"fetch.wait.max.ms": "500"})
    assert custom.to_confluent("group")["fetch.wait.max.ms"] == "500"  # the user's value wins
