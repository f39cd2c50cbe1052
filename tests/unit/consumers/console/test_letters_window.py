"""Finding a page of the unfiltered list from offsets alone: which offsets of which partitions."""

from keel.consumers.console.letters import _window
from keel.consumers.console.offsets import Span

SPANS = [Span("a.dlt", 0, 10, 13), Span("a.dlt", 1, 0, 0), Span("b.dlt", 0, 5, 9)]


def test_the_first_page_starts_at_the_first_offset() -> None:
    assert list(_window(SPANS, 0, 2)) == [Span("a.dlt", 0, 10, 12)]


def test_a_page_runs_across_partitions_and_skips_empty_ones() -> None:
    assert list(_window(SPANS, 2, 3)) == [Span("a.dlt", 0, 12, 13), Span("b.dlt", 0, 5, 7)]


def test_the_last_page_is_short_and_past_it_is_empty() -> None:
    assert list(_window(SPANS, 6, 5)) == [Span("b.dlt", 0, 8, 9)]
    assert list(_window(SPANS, 7, 5)) == []
