"""The rates' arithmetic: the difference of two samples of end offsets over their time apart."""

import pytest

from keel.consumers.console.rates import Sample, rates


def test_the_first_sample_has_totals_but_no_rates() -> None:
    [only] = rates(None, Sample(10.0, {"jobs.email": (100, 3)}))

    assert (only.jobs, only.dead_letters) == (100, 3)
    assert only.jobs_per_s is None
    assert only.failure_ratio is None


def test_rates_are_the_growth_over_the_time_between_samples() -> None:
    older = Sample(10.0, {"jobs.email": (100, 3), "jobs.reports": (5, 0)})
    newer = Sample(14.0, {"jobs.email": (300, 13), "jobs.reports": (5, 0), "jobs.new": (7, 0)})

    email, fresh, reports = rates(older, newer)

    assert email.topic == "jobs.email"
    assert email.jobs_per_s == pytest.approx(50.0)
    assert email.dead_letters_per_s == pytest.approx(2.5)
    assert email.failure_ratio == pytest.approx(0.05)
    assert (fresh.topic, fresh.jobs_per_s) == ("jobs.new", None)  # not in the older sample
    assert (reports.jobs_per_s, reports.failure_ratio) == (0.0, None)  # nothing published


def test_a_topic_recreated_smaller_never_shows_a_negative_rate() -> None:
    [email] = rates(Sample(0.0, {"t": (100, 10)}), Sample(2.0, {"t": (4, 0)}))

    assert (email.jobs_per_s, email.dead_letters_per_s) == (0.0, 0.0)
