"""A partition's arrivals: the oldest unfinished record's timestamp, without keeping records."""

from keel.consumers.pipeline.arrivals import Arrivals


def arrived(*records: tuple[int, int]) -> Arrivals:
    arrivals = Arrivals()
    for offset, timestamp_ms in records:
        arrivals.add(offset, timestamp_ms)
    return arrivals


def test_the_oldest_left_is_the_first_at_or_above_the_watermark() -> None:
    arrivals = arrived((10, 1_000), (11, 2_000), (13, 3_000))
    arrivals.forget_below(11)
    assert (len(arrivals), arrivals.oldest_ms()) == (2, 2_000)
    arrivals.forget_below(12)  # a gap: 12 never arrived
    assert (len(arrivals), arrivals.oldest_ms()) == (1, 3_000)


def test_a_watermark_below_the_oldest_drops_nothing() -> None:
    arrivals = arrived((10, 1_000), (11, 2_000))
    arrivals.forget_below(10)
    assert (len(arrivals), arrivals.oldest_ms()) == (2, 1_000)


def test_past_every_arrival_or_with_nothing_received_none_is_left() -> None:
    arrivals = arrived((10, 1_000), (11, 2_000))
    arrivals.forget_below(12)
    assert (len(arrivals), arrivals.oldest_ms()) == (0, None)
    arrivals = arrived((10, 1_000))
    arrivals.forget_below(None)
    assert (len(arrivals), arrivals.oldest_ms()) == (0, None)
