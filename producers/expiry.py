"""`publish(..., expires=...)`: the moment after which a job that has not started must not run.

An expiry is absolute (an aware `datetime`) or relative to now (a `timedelta`, or seconds). It
travels as the `keel-expires-at` header in epoch milliseconds, and the worker compares it with
its own clock right before the job would start (docs/scheduling.md). What can never start in
time is refused here, before anything is sent: an expiry already past, and an expiry at or
before the moment a delayed job is delivered (`deliver_at_ms`).
"""

from datetime import datetime, timedelta
from time import time_ns

from keel.producers.errors import ExpiryError
from keel.producers.records import Record
from keel.schemas.headers import EXPIRES_AT

Expires = datetime | timedelta | float | int


def expires_at_ms(
    expires: Expires, *, deliver_at_ms: int | None = None, now_ms: int | None = None
) -> int:
    """The expiry as epoch milliseconds; raises `ExpiryError` for one no job could meet.

    `deliver_at_ms`: when a delayed job is released (None: at once). `now_ms` defaults to the
    clock, read once.
    """
    now = time_ns() // 1_000_000 if now_ms is None else now_ms
    at = _absolute_ms(expires, now)
    if at <= now:
        raise ExpiryError(f"expires={expires!r} is already past: the job could never start")
    if deliver_at_ms is not None and at <= deliver_at_ms:
        raise ExpiryError(
            f"expires={expires!r} is not after the job's delivery time: it could never start"
        )
    return at


def stamp_expiry(record: Record, at_ms: int | None) -> Record:
    """`record` with its `keel-expires-at` header (unchanged when `at_ms` is None)."""
    if at_ms is not None:
        record.headers.append((EXPIRES_AT, str(at_ms)))
    return record


def _absolute_ms(expires: Expires, now_ms: int) -> int:
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            raise ExpiryError(
                "expires= needs an aware datetime (with tzinfo): a naive one names no instant"
            )
        return int(expires.timestamp() * 1000)
    if isinstance(expires, timedelta):
        return now_ms + int(expires.total_seconds() * 1000)
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        raise ExpiryError(
            f"expires= takes a datetime, a timedelta or seconds, not {type(expires).__name__}"
        )
    return now_ms + int(expires * 1000)
