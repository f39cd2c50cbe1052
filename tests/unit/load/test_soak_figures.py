"""The soak's figures: memory after warm-up against the end, peaks, lag trend, p99 windows."""

from collections.abc import Sequence

import pytest

from keel.load.report import TimelinePoint
from keel.load.resources import ProcessSample
from keel.load.soak_figures import lag_trend, tail_windows, worker_memory


def _rss(pid: int, points: Sequence[tuple[float, float]], cpu: float = 50.0) -> list[ProcessSample]:
    return [ProcessSample(at, pid, cpu, rss) for at, rss in points]


def test_growth_compares_the_median_after_warm_up_with_the_median_at_the_end() -> None:
    # Given RSS that climbs during warm-up (0-20 s), holds at 100 MB, and ends at 105 MB
    climb = [(t, 50.0 + t) for t in range(0, 20, 2)]
    steady = [(t, 100.0) for t in range(20, 90, 2)]
    end = [(t, 105.0) for t in range(90, 101, 2)]
    samples = _rss(7, climb + steady + end)

    (worker,) = worker_memory(samples, warm_up_s=20.0)

    assert worker.pid == 7
    assert worker.rss_after_warm_up_mb == 100.0
    assert worker.rss_end_mb == 105.0
    assert worker.growth_pct == pytest.approx(5.0)
    assert worker.rss_max_mb == 105.0


def test_one_high_sample_does_not_decide_growth_but_counts_as_the_peak() -> None:
    points = [(float(t), 100.0) for t in range(100)]
    points[98] = (98.0, 300.0)

    (worker,) = worker_memory(_rss(1, points), warm_up_s=20.0)

    assert worker.growth_pct == 0.0
    assert worker.rss_max_mb == 300.0


def test_each_worker_is_judged_on_its_own_samples_and_cpu_skips_the_baseline_sample() -> None:
    first = _rss(1, [(t, 100.0) for t in range(0, 100, 5)], cpu=40.0)
    second = _rss(2, [(t, 100.0 + t) for t in range(0, 100, 5)], cpu=60.0)
    baseline = [ProcessSample(-1.0, 1, 0.0, 100.0)]

    workers = worker_memory(baseline + first + second, warm_up_s=20.0)

    assert [w.pid for w in workers] == [1, 2]
    assert workers[0].growth_pct == 0.0
    assert workers[0].cpu_mean_percent == 40.0
    assert workers[1].growth_pct > 50


def test_a_lag_that_rises_has_a_positive_slope_per_minute_and_unread_lags_are_left_out() -> None:
    timeline = [TimelinePoint(float(t), 0, 100.0, 10 * t, 5.0) for t in range(0, 61, 5)]
    timeline.insert(3, TimelinePoint(12.0, 0, 100.0, -1, 5.0))

    trend = lag_trend(timeline, warm_up_s=10.0)

    assert trend.after_warm_up == 100
    assert trend.end == 600
    assert trend.max == 600
    assert trend.slope_per_min == pytest.approx(600.0)


def test_a_lag_that_holds_has_no_slope() -> None:
    timeline = [TimelinePoint(float(t), 0, 100.0, 40, 5.0) for t in range(60)]

    assert lag_trend(timeline, warm_up_s=0.0).slope_per_min == pytest.approx(0.0)


def test_p99_windows_after_warm_up_skip_windows_that_completed_nothing() -> None:
    timeline = [
        TimelinePoint(5.0, 10, 2.0, 0, 900.0),  # warm-up
        TimelinePoint(10.0, 20, 2.0, 0, 10.0),
        TimelinePoint(15.0, 20, 0.0, 0, 0.0),  # nothing completed
        TimelinePoint(20.0, 30, 2.0, 0, 30.0),
        TimelinePoint(25.0, 40, 2.0, 0, 20.0),
    ]

    windows = tail_windows(timeline, warm_up_s=10.0)

    assert (windows.windows, windows.median_ms, windows.max_ms) == (3, 20.0, 30.0)
