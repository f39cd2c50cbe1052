"""`expires=`: the header value a publisher stamps, and what it refuses before sending."""

from datetime import UTC, datetime, timedelta

import pytest

from keel.producers.errors import ExpiryError
from keel.producers.expiry import expires_at_ms, stamp_expiry
from keel.producers.records import Record
from keel.schemas.headers import EXPIRES_AT

NOW_MS = 1_800_000_000_000


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        (30, NOW_MS + 30_000),
        (0.25, NOW_MS + 250),
        (timedelta(hours=1), NOW_MS + 3_600_000),
        (datetime.fromtimestamp((NOW_MS + 5_000) / 1000, UTC), NOW_MS + 5_000),
    ],
)
def test_relative_and_absolute_expiries_become_epoch_milliseconds(
    expires: float | timedelta | datetime, expected: int
) -> None:
    assert expires_at_ms(expires, now_ms=NOW_MS) == expected


@pytest.mark.parametrize(
    "expires",
    [0, -1, timedelta(seconds=-5), datetime.fromtimestamp((NOW_MS - 1) / 1000, UTC)],
)
def test_an_expiry_already_past_is_refused(expires: float | timedelta | datetime) -> None:
    with pytest.raises(ExpiryError, match="already past"):
        expires_at_ms(expires, now_ms=NOW_MS)


def test_an_expiry_not_after_the_delivery_time_is_refused() -> None:
    with pytest.raises(ExpiryError, match="delivery time"):
        expires_at_ms(60, deliver_at_ms=NOW_MS + 60_000, now_ms=NOW_MS)
    assert expires_at_ms(61, deliver_at_ms=NOW_MS + 60_000, now_ms=NOW_MS) == NOW_MS + 61_000


def test_a_naive_datetime_is_refused_because_it_names_no_instant() -> None:
    with pytest.raises(ExpiryError, match="aware datetime"):
        expires_at_ms(datetime(2030, 1, 1), now_ms=NOW_MS)


@pytest.mark.parametrize("expires", [True, "60"])
def test_other_types_are_refused(expires: object) -> None:
    with pytest.raises(ExpiryError, match="takes a datetime"):
        expires_at_ms(expires, now_ms=NOW_MS)  # type: ignore[arg-type]


def test_the_expiry_travels_as_a_header_and_none_adds_nothing() -> None:
    record = Record("id", "jobs", b"k", b"v", [("keel-job-id", "id")])

    assert stamp_expiry(record, None).headers == [("keel-job-id", "id")]
    assert stamp_expiry(record, NOW_MS).headers[-1] == (EXPIRES_AT, str(NOW_MS))
