"""Where a new term resumes: a coordinator that is not ready yet is asked again."""

from unittest.mock import MagicMock

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from keel.producers.delayed.progress import resume_offsets

TIERS = [TopicPartition("d", 0), TopicPartition("d", 1)]


def test_resumes_each_tier_at_its_committed_offset_or_its_beginning() -> None:
    consumer = MagicMock()
    consumer.committed.return_value = [TopicPartition("d", 0, 42), TopicPartition("d", 1, -1001)]

    starts = resume_offsets(consumer, TIERS, 5)

    assert [(t.partition, t.offset) for t in starts] == [(0, 42), (1, OFFSET_BEGINNING)]


def test_a_coordinator_still_loading_is_asked_again() -> None:
    consumer = MagicMock()
    consumer.committed.side_effect = [
        KafkaException(KafkaError(KafkaError.NOT_COORDINATOR)),
        KafkaException(KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS)),
        [TopicPartition("d", 0, 7), TopicPartition("d", 1, 9)],
    ]

    starts = resume_offsets(consumer, TIERS, 30)

    assert [t.offset for t in starts] == [7, 9]
    assert consumer.committed.call_count == 3


def test_any_other_error_fails_at_once() -> None:
    consumer = MagicMock()
    consumer.committed.side_effect = KafkaException(
        KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED)
    )

    with pytest.raises(KafkaException):
        resume_offsets(consumer, TIERS, 30)
    assert consumer.committed.call_count == 1


def test_a_coordinator_never_ready_fails_when_the_term_times_out() -> None:
    consumer = MagicMock()
    consumer.committed.side_effect = KafkaException(KafkaError(KafkaError.NOT_COORDINATOR))

    with pytest.raises(KafkaException):
        resume_offsets(consumer, TIERS, 0.5)
