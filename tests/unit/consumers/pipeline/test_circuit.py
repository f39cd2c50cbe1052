"""The circuit's state machine, driven by a clock the test holds (no loop, no jobs)."""

import pytest

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.pipeline.circuit import CLOSED, HALF_OPEN, OPEN, Breaker

POLICY = CircuitPolicy(
    window=10.0,
    failure_ratio=0.5,
    min_attempts=10,
    min_jobs=3,
    probe_interval=1.0,
    probe_interval_max=5.0,
)


def fail_jobs(breaker: Breaker, now: float, jobs: range) -> list[str]:
    """One failed attempt of each job at `now`; the states the breaker answered with."""
    changes = [breaker.failed(now, job) for job in jobs]
    return [change.state for change in changes if change is not None]


def test_an_outage_opens_once_enough_attempts_of_enough_jobs_fail() -> None:
    breaker = Breaker(POLICY, now=0.0)
    assert fail_jobs(breaker, 1.0, range(9)) == []  # 9 attempts: below min_attempts
    change = breaker.failed(1.0, 9)
    assert change is not None
    assert (change.state, change.probe_in) == (OPEN, 1.0)
    assert "10 of 10 attempts failed, 10 jobs" in change.reason
    assert breaker.state == OPEN


def test_one_poison_job_never_opens_it_however_often_it_fails() -> None:
    breaker = Breaker(POLICY, now=0.0)
    changes = [breaker.failed(0.1 * n, "poison") for n in range(50)]
    assert changes == [None] * 50
    assert breaker.counted() == (50, 50, 1)
    assert breaker.state == CLOSED


def test_failures_of_two_jobs_stay_below_min_jobs() -> None:
    breaker = Breaker(POLICY, now=0.0)
    assert [breaker.failed(0.0, n % 2) for n in range(20)] == [None] * 20
    assert breaker.failed(0.0, "third") is not None


def test_a_failed_share_below_the_ratio_keeps_it_closed() -> None:
    breaker = Breaker(POLICY, now=0.0)
    for _ in range(11):
        breaker.succeeded(0.5)
    assert fail_jobs(breaker, 0.5, range(10)) == []  # 10 of 21 < 50%
    assert fail_jobs(breaker, 0.5, range(10, 11)) == [OPEN]  # 11 of 22 = 50%


def test_attempts_older_than_the_window_are_forgotten() -> None:
    breaker = Breaker(POLICY, now=0.0)
    assert fail_jobs(breaker, 0.5, range(9)) == []
    # 10.5 s later the nine failures lie outside the 10 s window: nine more do not open it
    assert fail_jobs(breaker, 11.0, range(100, 109)) == []
    assert breaker.counted() == (9, 9, 9)
    assert fail_jobs(breaker, 11.0, range(109, 110)) == [OPEN]


def test_successes_out_of_the_window_no_longer_dilute_the_failures() -> None:
    breaker = Breaker(POLICY, now=0.0)
    for _ in range(100):
        breaker.succeeded(0.0)
    assert fail_jobs(breaker, 5.0, range(10)) == []  # 10 of 110
    assert fail_jobs(breaker, 10.5, range(10, 11)) == [OPEN]  # the successes fell out


def test_a_failed_probe_doubles_the_wait_up_to_its_bound_and_a_success_resets_it() -> None:
    breaker = Breaker(POLICY, now=0.0)
    fail_jobs(breaker, 0.0, range(10))
    waits = []
    for _ in range(5):
        assert breaker.probe_due().state == HALF_OPEN
        change = breaker.probe_failed()
        assert change.state == OPEN
        waits.append(change.probe_in)
    assert waits == [2.0, 4.0, 5.0, 5.0, 5.0]
    breaker.probe_due()
    assert breaker.probe_succeeded(30.0).state == CLOSED
    assert breaker.delay == 1.0
    assert breaker.counted() == (0, 0, 0)  # counted afresh after it closes


def test_the_window_counts_afresh_after_closing() -> None:
    breaker = Breaker(POLICY, now=0.0)
    fail_jobs(breaker, 0.0, range(10))
    breaker.probe_due()
    breaker.probe_succeeded(2.0)
    assert fail_jobs(breaker, 2.0, range(9)) == []
    assert fail_jobs(breaker, 2.0, range(9, 10)) == [OPEN]


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"window": 0}, "window"),
        ({"failure_ratio": 0}, "failure_ratio"),
        ({"failure_ratio": 1.5}, "failure_ratio"),
        ({"min_attempts": 0}, "min_attempts"),
        ({"min_jobs": 0}, "min_jobs"),
        ({"probe_interval": 0}, "probe_interval"),
        ({"probe_interval": 10, "probe_interval_max": 5}, "probe_interval"),
    ],
)
def test_a_policy_that_cannot_work_is_refused(values: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CircuitPolicy(**values)  # type: ignore[arg-type]


def test_successes_count_in_the_bucket_of_their_own_time() -> None:
    breaker = Breaker(POLICY, now=0.0)
    for _ in range(100):
        breaker.succeeded(5.0)  # the first attempts come long after the breaker was made
    assert fail_jobs(breaker, 14.5, range(10)) == []  # 10 of 110: the successes still count
    assert fail_jobs(breaker, 15.5, range(10, 11)) == [OPEN]  # now they fell out
