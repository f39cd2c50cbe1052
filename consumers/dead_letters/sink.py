"""Where dead-lettered records are written: a seam with a Kafka producer behind it.

`publish` never blocks the loop. `done(error)` is called on the loop thread once the write is
acknowledged (None) or has failed (a short description); the engine marks the offset finished
only after an acknowledgement.
"""

from collections.abc import Callable
from typing import Protocol

from keel.consumers.pipeline.records import Header

Acknowledged = Callable[[str | None], None]


class DeadLetterSink(Protocol):
    """Writes a record to a dead-letter topic and reports the outcome."""

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
        done: Acknowledged,
    ) -> None: ...
