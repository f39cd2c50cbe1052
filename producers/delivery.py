"""What became of a published job: a `Delivery`, or a `PublishError` that says why not."""

from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message

from keel.producers.errors import MessageTooLargeError, PublishError, PublishTimeoutError

# librdkafka's own default for message.max.bytes, and the broker's for max.message.bytes.
DEFAULT_PRODUCER_LIMIT = 1_000_000
BROKER_LIMIT_HINT = "the topic's max.message.bytes (broker message.max.bytes, 1048588 by default)"
_TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE}
_TIMED_OUT = {KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT}


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where the broker stored a job: durably, with acks from all in-sync replicas."""

    job_id: str
    topic: str
    partition: int
    offset: int


Outcome = Delivery | PublishError
OnDelivery = Callable[[Outcome], None]


def outcome(error: KafkaError | None, message: Message, job_id: str) -> Outcome:
    """The outcome librdkafka reported for one job."""
    if error is None:
        return Delivery(
            job_id, message.topic() or "", message.partition() or 0, message.offset() or 0
        )
    return delivery_error(error, job_id, len(message.value() or b""))


def delivery_error(error: KafkaError, job_id: str | None, size: int) -> PublishError:
    """A `PublishError` naming what went wrong, including the limit a large job broke."""
    code = error.code()
    if code in _TOO_LARGE:
        return MessageTooLargeError(
            f"job of {size} bytes refused by the broker: over {BROKER_LIMIT_HINT} ({error.str()})",
            job_id,
        )
    if code in _TIMED_OUT:
        return PublishTimeoutError(
            f"job not acknowledged within delivery.timeout.ms; is the broker reachable? "
            f"({error.str()})",
            job_id,
        )
    return PublishError(f"job not delivered: {error.str()}", job_id)


def too_large_for_producer(size: int, limit: int, job_id: str) -> MessageTooLargeError:
    return MessageTooLargeError(
        f"job of {size} bytes is over the producer's message.max.bytes={limit}", job_id
    )


def all_delivered(outcomes: list[Outcome]) -> list[Delivery]:
    """The deliveries of a batch, in order; raises one `PublishError` if any job failed.

    The error counts the failures and quotes the first, like a `flush()` does, and is raised
    only once every outcome is in, so no job of the batch is left unaccounted for.
    """
    failures = [o for o in outcomes if isinstance(o, PublishError)]
    if failures:
        first = failures[0]
        raise type(first)(
            f"{len(failures)} of {len(outcomes)} job(s) not delivered; first: {first}",
            first.job_id,
        )
    return [o for o in outcomes if isinstance(o, Delivery)]
