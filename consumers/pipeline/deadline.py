"""A moment on the monotonic clock that several steps share, each taking what is left.

The SIGTERM path (see `keel.consumers.shutdown`) and a revoke both hand one `Deadline` down to
their steps instead of a timeout each: timeouts added up overrun the pod's grace period, while
steps that read the same deadline cannot.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """`at` seconds on `time.monotonic`'s clock."""

    at: float

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> "Deadline":
        return cls(clock() + seconds)

    def remaining(self, clock: Clock = time.monotonic) -> float:
        """Seconds left, never negative."""
        return max(self.at - clock(), 0.0)

    def passed(self, clock: Clock = time.monotonic) -> bool:
        return clock() >= self.at

    def earlier(self, seconds: float) -> "Deadline":
        """This deadline moved `seconds` sooner: what a step must leave for the steps after it."""
        return Deadline(self.at - seconds)

    def min(self, other: "Deadline | None") -> "Deadline":
        """The sooner of the two (`None` is no deadline)."""
        return self if other is None or self.at <= other.at else other
