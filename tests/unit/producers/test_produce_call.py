"""`produce` hands confluent-kafka each part of a record in its place (the call is positional).

A real producer with no broker: librdkafka queues the records, and purging the queue delivers
each one's report, with what was queued, to the callback it was given. The headers' place is
held by the publisher's integration tests, which read them back from the broker.
"""

from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from keel.producers.records import Record, produce

# Port 1 refuses at once; log level 0 keeps librdkafka's connection errors out of the output.
_NO_BROKER = {"bootstrap.servers": "127.0.0.1:1", "log_level": 0}


class _Reports:
    """A delivery callback that keeps what each report says."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        code = None if error is None else error.code()
        self.seen.append(
            (code, message.topic(), message.key(), message.value(), message.partition())
        )


def _purged(producer: Producer) -> None:
    producer.purge()
    producer.poll(0)


def test_each_part_of_the_record_reaches_its_place() -> None:
    producer, reports = Producer(_NO_BROKER), _Reports()
    record = Record("job-1", "jobs.email", b"user-7", b"\x00body", [("keel-job-id", "job-1")], 5)

    produce(producer, record, reports)
    _purged(producer)

    purged = KafkaError._PURGE_QUEUE
    assert reports.seen == [(purged, "jobs.email", b"user-7", b"\x00body", 5)]


def test_without_a_report_the_producer_s_own_callback_hears_of_it() -> None:
    reports = _Reports()
    producer = Producer({**_NO_BROKER, "on_delivery": reports})

    produce(producer, Record("job-2", "jobs.email", b"user-8", b"body", []), None)
    _purged(producer)

    assert [key for _, _, key, _, _ in reports.seen] == [b"user-8"]
