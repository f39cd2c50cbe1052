"""In-flight accounting: when to pause fetching, and when to resume.

The poll loop never waits for handlers; instead, once `high` records are accepted and not yet
finished, the source pauses its partitions, and it resumes them when the count falls to `low`.
The gap between the marks keeps a busy worker from flapping between the two states. The
decision is pure: `admit`/`settle` return what the source must do, if anything.
"""

from dataclasses import dataclass
from enum import Enum


class Signal(Enum):
    """What the source must do after a change in the in-flight count."""

    NONE = "none"
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(slots=True)
class FlowControl:
    """Counts accepted, unfinished records against a high and a low water mark."""

    high: int
    low: int
    in_flight: int = 0
    paused: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.low < self.high:
            raise ValueError("need 0 <= low < high")

    def admit(self, count: int = 1) -> Signal:
        """`count` records were accepted."""
        self.in_flight += count
        if not self.paused and self.in_flight >= self.high:
            self.paused = True
            return Signal.PAUSE
        return Signal.NONE

    def settle(self, count: int = 1) -> Signal:
        """`count` records finished (or were given up on revoke)."""
        self.in_flight -= count
        if self.paused and self.in_flight <= self.low:
            self.paused = False
            return Signal.RESUME
        return Signal.NONE
