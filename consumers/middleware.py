"""Hooks around every job, for the cross-cutting concerns: metrics, logging, tracing.

The engine calls one `Observer` at fixed points and knows nothing of what it does; the defaults
do nothing. `Observers` fans out to several. Aggregating observers (metrics) need only the job
type; per-record ones (tracing) also get the record, which is the same object from an attempt's
start to its end, so they can pair the two.
"""

from collections.abc import Sequence
from typing import Protocol

from consumers.context import Context
from consumers.pipeline.records import Message

PROCESSED = "processed"
FAILED = "failed"
RETRIED = "retried"
DEAD_LETTERED = "dead_lettered"


class Observer(Protocol):
    """Told when a job attempt starts and ends and when a record is durably dead-lettered."""

    def attempt_started(self, record: Message, context: Context) -> None:
        """The handler is about to run for `record` (once per attempt)."""

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Message | None = None,
        error: BaseException | None = None,
    ) -> None:
        """`outcome` is PROCESSED, RETRIED or FAILED (failed for good: it is dead-lettered).

        `error` is what the attempt raised (None on success).
        """

    def dead_lettered(self, job_type: str, reason: str) -> None:
        """The dead-letter write of a record was acknowledged."""


class NoObserver:
    """Observes nothing."""

    def attempt_started(self, record: Message, context: Context) -> None:
        pass

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Message | None = None,
        error: BaseException | None = None,
    ) -> None:
        pass

    def dead_lettered(self, job_type: str, reason: str) -> None:
        pass


class Observers:
    """Several observers as one, called in order."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = tuple(observers)

    def attempt_started(self, record: Message, context: Context) -> None:
        for observer in self._observers:
            observer.attempt_started(record, context)

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Message | None = None,
        error: BaseException | None = None,
    ) -> None:
        for observer in self._observers:
            observer.attempt_ended(job_type, outcome, seconds, record, error)

    def dead_lettered(self, job_type: str, reason: str) -> None:
        for observer in self._observers:
            observer.dead_lettered(job_type, reason)
