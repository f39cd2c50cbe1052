"""A refused dead-letter write names Write and the topic, whichever resource Kafka named."""

from confluent_kafka import KafkaError

from keel.consumers.dead_letters.kafka_sink import refused_write


def test_a_topic_refusal_names_write_and_the_dead_letter_topic() -> None:
    error = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)

    assert refused_write(error, "jobs.dlt") == (
        "not authorized to Write topic jobs.dlt (TOPIC_AUTHORIZATION_FAILED)"
    )


def test_an_idempotent_producer_refused_by_the_cluster_still_names_the_topic() -> None:
    # Kafka asks for IdempotentWrite on the cluster only of a principal that may write no topic
    error = KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, "Failed to acquire PID", True)

    assert refused_write(error, "jobs.dlt") == (
        "not authorized to Write topic jobs.dlt (CLUSTER_AUTHORIZATION_FAILED)"
    )


def test_any_other_failure_keeps_librdkafkas_words() -> None:
    error = KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out")

    assert refused_write(error, "jobs.dlt") == "Local: Message timed out"
