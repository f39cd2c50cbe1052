import random

import pytest

from keel.consumers import Reject, Retry
from keel.consumers.retry_policy import (
    FATAL_ERROR,
    RETRIES_EXHAUSTED,
    DeadLetter,
    Decision,
    Done,
    RetryAfter,
    RetryPolicy,
    backoff,
    decide,
)
from keel.consumers.signals import JobTimeout


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


class FlakyError(ConnectionError):
    pass


class BadInputError(ValueError):
    pass


POLICY = RetryPolicy(
    max_attempts=3,
    base_delay=1.0,
    max_delay=3.0,
    retry_on=(OSError, JobTimeout),
    fatal=(FlakyError,),
)


@pytest.mark.parametrize(
    ("attempt", "error", "decision"),
    [
        (1, None, Done()),
        (3, None, Done()),
        (1, OSError("down"), RetryAfter(0.5)),  # ceiling 1.0, jitter 0.5
        (2, OSError("down"), RetryAfter(1.0)),  # ceiling 2.0
        (3, OSError("down"), DeadLetter(RETRIES_EXHAUSTED)),
        (1, JobTimeout(), RetryAfter(0.5)),
        (1, BadInputError("no"), DeadLetter(FATAL_ERROR)),  # not in retry_on
        (1, FlakyError("boom"), DeadLetter(FATAL_ERROR)),  # fatal beats retry_on
        (1, Reject("bad address"), DeadLetter("rejected: bad address")),
        (1, Retry(after=7.5), RetryAfter(7.5)),
        (1, Retry(), RetryAfter(0.5)),
        (1, Retry(after=-1), RetryAfter(0.0)),
        (3, Retry(after=1), DeadLetter(RETRIES_EXHAUSTED)),  # a signal cannot exceed the policy
    ],
)
def test_decide(attempt: int, error: BaseException | None, decision: Decision) -> None:
    assert decide(POLICY, attempt, error, Fixed(0.5)) == decision


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0), (10_000, 3.0)]
)
def test_backoff_is_full_jitter_under_an_exponential_capped_ceiling(
    attempt: int, ceiling: float
) -> None:
    assert backoff(POLICY, attempt, Fixed(0.0)) == 0.0
    assert backoff(POLICY, attempt, Fixed(0.999999)) == pytest.approx(ceiling, rel=1e-5)


def test_backoff_spreads_delays() -> None:
    rng = random.Random(7)
    delays = {round(backoff(POLICY, 3, rng), 3) for _ in range(50)}
    assert len(delays) > 40


def test_one_attempt_policy_never_retries() -> None:
    assert decide(RetryPolicy(max_attempts=1), 1, OSError(), Fixed(0)) == DeadLetter(
        RETRIES_EXHAUSTED
    )


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": -1}])
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|negative"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
