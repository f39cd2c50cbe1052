"""The retry policy as data, and the one pure decision taken after every attempt.

`decide(policy, attempt, error, rng)` looks at how an attempt ended and answers what happens
next: `Done` (the offset may be marked finished), `RetryAfter(delay)` (the job waits on its own
key, nothing else waits) or `DeadLetter(reason)`. It does no I/O and reads no clock, so a table
test covers every branch.

Backoff is exponential with *full jitter*: the delay is uniform in [0, min(cap, base * 2^(n-1))],
which spreads a burst of failures out instead of retrying them in lockstep.
"""

from dataclasses import dataclass, field
from typing import Protocol

from keel.consumers.signals import Reject, Retry


class Random(Protocol):
    """What `decide` needs from a random source: `random.Random` fits."""

    def random(self) -> float: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one job type is retried.

    `retry_on` lists the exception classes worth another attempt; `fatal` wins over it (a
    subclass of a retryable class can still be fatal). Anything outside `retry_on` is fatal.
    """

    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 30.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    fatal: tuple[type[BaseException], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays cannot be negative")


@dataclass(frozen=True, slots=True)
class Done:
    """The job finished; its offset may count as done."""


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Run the job again after `delay` seconds; its key waits, other keys do not."""

    delay: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Set the job aside in the dead-letter topic; `reason` says why no attempt is left."""

    reason: str


Decision = Done | RetryAfter | DeadLetter

DONE = Done()
RETRIES_EXHAUSTED = "retries-exhausted"
FATAL_ERROR = "fatal-error"
# Its attempts were used up by runs that its worker did not survive (see pipeline/inherit.py).
CRASH_LOOP = "crash-loop"


def decide(policy: RetryPolicy, attempt: int, error: BaseException | None, rng: Random) -> Decision:
    """What follows attempt number `attempt` (1-based) that ended with `error` (None: success)."""
    if error is None:
        return DONE
    if isinstance(error, Reject):
        return DeadLetter(f"rejected: {error.reason}")
    if not isinstance(error, Retry) and _is_fatal(policy, error):
        return DeadLetter(FATAL_ERROR)
    if attempt >= policy.max_attempts:
        return DeadLetter(RETRIES_EXHAUSTED)
    if isinstance(error, Retry) and error.after is not None:
        return RetryAfter(max(0.0, error.after))
    return RetryAfter(backoff(policy, attempt, rng))


def backoff(policy: RetryPolicy, attempt: int, rng: Random) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay * 2^(attempt-1))]."""
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(attempt - 1, 62))
    return rng.random() * ceiling


def _is_fatal(policy: RetryPolicy, error: BaseException) -> bool:
    return isinstance(error, policy.fatal) or not isinstance(error, policy.retry_on)
