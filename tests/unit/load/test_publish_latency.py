"""The publish-latency bench's quantiles: nearest rank, the maximum exact."""

from keel.load.publish_latency import quantiles


def test_quantiles_are_nearest_rank_and_the_max_is_the_largest_sample() -> None:
    samples = [float(n) for n in range(1000, 0, -1)]  # 1..1000, unordered
    found = quantiles(samples)
    assert found == {"p50": 501.0, "p90": 901.0, "p99": 991.0, "p99_9": 1000.0, "max": 1000.0}


def test_one_slow_call_in_a_thousand_shows_at_p99_9_not_at_p99() -> None:
    samples = [5.0] * 999 + [400.0]
    found = quantiles(samples)
    assert found["p99"] == 5.0
    assert found["p99_9"] == 400.0
    assert found["max"] == 400.0
