"""Hooks around every job, for the cross-cutting concerns: metrics, logging, tracing.

The engine calls one `Observer` at fixed points and knows nothing of what it does; the defaults
do nothing. `Observers` fans out to several.
"""

from collections.abc import Sequence
from typing import Protocol

PROCESSED = "processed"
FAILED = "failed"
RETRIED = "retried"
DEAD_LETTERED = "dead_lettered"


class Observer(Protocol):
    """Told when a job attempt ends and when a record is durably dead-lettered."""

    def attempt_ended(self, job_type: str, outcome: str, seconds: float) -> None:
        """`outcome` is PROCESSED, RETRIED or FAILED (failed for good: it is dead-lettered)."""

    def dead_lettered(self, job_type: str, reason: str) -> None:
        """The dead-letter write of a record was acknowledged."""


class NoObserver:
    """Observes nothing."""

    def attempt_ended(self, job_type: str, outcome: str, seconds: float) -> None:
        pass

    def dead_lettered(self, job_type: str, reason: str) -> None:
        pass


class Observers:
    """Several observers as one, called in order."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = tuple(observers)

    def attempt_ended(self, job_type: str, outcome: str, seconds: float) -> None:
        for observer in self._observers:
            observer.attempt_ended(job_type, outcome, seconds)

    def dead_lettered(self, job_type: str, reason: str) -> None:
        for observer in self._observers:
            observer.dead_lettered(job_type, reason)
