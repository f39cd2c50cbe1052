"""How the poll thread takes a batch from librdkafka: at once when records arrive.

`Consumer.consume(n, timeout)` returns when it holds `n` records *or* the timeout has passed.
Below full batches (1,000 jobs/s against a batch of 500) it always waits out the timeout, so
every record sat in librdkafka's queue for up to the whole poll timeout before the loop saw it:
half of the end-to-end median at 1,000 jobs/s (docs/benchmarks.md). `poll(timeout)` instead
returns the moment one record is there; what else is queued already is taken without waiting.
The timeout now only bounds how long an idle poll thread leaves its commands (commits, pauses)
waiting, and under load the batches are as large as before: whatever arrived meanwhile.
"""

from collections.abc import Sequence
from typing import Protocol, TypeVar

R_co = TypeVar("R_co", covariant=True)


class Polling(Protocol[R_co]):
    """What taking a batch needs of the consumer (`confluent_kafka.Consumer` fits it)."""

    def poll(self, timeout: float) -> R_co | None: ...

    def consume(self, num_messages: int, timeout: float) -> Sequence[R_co]: ...


def take_batch(consumer: Polling[R_co], size: int, timeout: float) -> Sequence[R_co]:
    """Up to `size` records: waits at most `timeout` for the first, not at all for the rest."""
    first = consumer.poll(timeout)
    if first is None:
        return ()
    if size == 1:
        return (first,)
    return [first, *consumer.consume(size - 1, 0)]
