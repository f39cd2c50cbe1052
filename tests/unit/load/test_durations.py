import pytest

from keel.load.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("20s", 20.0), ("30m", 1800.0), ("1.5h", 5400.0), (" 15M ", 900.0)],
)
def test_a_duration_is_a_number_of_seconds_minutes_or_hours(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "10d", "-5s", "ten minutes"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="a duration"):
        parse_duration(text)
