"""Due times and tiers of delayed jobs."""

from datetime import UTC, datetime, timedelta

import pytest

from keel.producers.delayed.timing import TIERS, act_at_ms, due_ms, tier
from keel.producers.errors import DelayError

NOW = 1_800_000_000_000
MONTH_S = 30 * 86_400


def test_a_delay_in_seconds_or_timedelta_is_due_that_much_later() -> None:
    assert due_ms(2, None, NOW, MONTH_S) == NOW + 2_000
    assert due_ms(timedelta(minutes=1), None, NOW, MONTH_S) == NOW + 60_000


def test_an_eta_is_due_at_its_moment() -> None:
    eta = datetime.fromtimestamp((NOW + 5_000) / 1000, UTC)
    assert due_ms(None, eta, NOW, MONTH_S) == NOW + 5_000


def test_an_eta_in_the_past_or_no_delay_runs_now() -> None:
    past = datetime.fromtimestamp((NOW - 5_000) / 1000, UTC)
    assert due_ms(None, past, NOW, MONTH_S) is None
    assert due_ms(0, None, NOW, MONTH_S) is None
    assert due_ms(None, None, NOW, MONTH_S) is None


def test_a_delay_beyond_the_maximum_is_refused() -> None:
    assert due_ms(MONTH_S, None, NOW, MONTH_S) == NOW + MONTH_S * 1000
    with pytest.raises(DelayError, match="beyond the maximum"):
        due_ms(MONTH_S + 1, None, NOW, MONTH_S)


def test_a_naive_eta_or_both_arguments_are_refused() -> None:
    with pytest.raises(DelayError, match="time zone"):
        due_ms(None, datetime(2030, 1, 1), NOW, MONTH_S)
    with pytest.raises(DelayError, match="not both"):
        due_ms(1, datetime.now(UTC), NOW, MONTH_S)


@pytest.mark.parametrize(
    ("remaining_ms", "expected"),
    [(0, 0), (999, 0), (1_000, 1), (1_999, 1), (2_000, 2), (3_999, 2), (4_000, 3)],
)
def test_a_tier_holds_waits_between_powers_of_two_seconds(remaining_ms: int, expected: int) -> None:
    assert tier(remaining_ms) == expected


def test_the_longest_delay_fits_the_last_tier() -> None:
    assert tier(97 * 86_400_000) == TIERS - 1


def test_a_tier_is_acted_on_when_what_remains_fits_a_lower_one() -> None:
    due = NOW + 3_500  # tier 2
    act = act_at_ms(tier(3_500), due)
    assert tier(due - act) < 2
    assert tier(due - (act - 1)) == 2
    assert act_at_ms(0, due) == due


@pytest.mark.parametrize("remaining_ms", [1, 999, 1_000, 1_500, 7_999, 8_000, 86_400_000])
def test_acting_never_moves_a_job_up_or_sideways(remaining_ms: int) -> None:
    start = tier(remaining_ms)
    if start:
        left = NOW + remaining_ms - act_at_ms(start, NOW + remaining_ms)
        assert tier(left) < start
