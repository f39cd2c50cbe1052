"""When a delayed job is due, and which tier of the delayed topic holds it: pure arithmetic.

The delayed topic has `TIERS` partitions. Tier 0 holds jobs due in under a second; tier `t`
(t >= 1) holds jobs that had between 2^(t-1) and 2^t seconds to wait when they were written.
The dispatcher reads each tier in order and acts on a tier's first record only when it is time:
tier 0's when it is due (it is released), tier t's when less than 2^(t-1) s remain (it is written
again into the tier of what remains, or released when that is nothing). Every record written
into a tier after its first has at least as long to wait when it was written, so a record never
waits behind another for longer than its own tier's width allows: nothing is released early,
and in tier 0 at most about a second late (plus the skew between publishers' clocks).

A job delayed by d seconds is thus rewritten at most about log2(d) times (21 for 30 days), and
the dispatcher keeps one record per tier in memory, whatever the number of pending jobs.
"""

import time
from datetime import datetime, timedelta

from keel.producers.errors import DelayError

TIERS = 24  # tier 23 holds up to 2^23 s, 97 days: the ceiling of `max_delay_s`
_SECOND_MS = 1_000

Delay = float | timedelta


def now_ms() -> int:
    """The wall clock in epoch millis (read for every record the dispatcher takes: cheaply)."""
    return time.time_ns() // 1_000_000


def due_ms(delay: Delay | None, eta: datetime | None, now: int, max_delay_s: float) -> int | None:
    """The due time (epoch millis) of a job published at `now`, or None: it runs now.

    An ETA in the past, or a delay of zero or less, runs the job now. Refuses both arguments at
    once, a naive ETA (its time zone would be a guess), and a wait beyond `max_delay_s`.
    """
    if delay is not None and eta is not None:
        raise DelayError("give a delay or an eta, not both")
    if eta is not None and eta.tzinfo is None:
        raise DelayError("eta has no time zone: use an aware datetime, e.g. datetime.now(UTC)")
    if delay is not None:
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        due = now + round(seconds * 1000)
    elif eta is not None:
        due = round(eta.timestamp() * 1000)
    else:
        return None
    if due - now > max_delay_s * 1000:
        raise DelayError(
            f"a delay of {(due - now) / 1000:.0f} s is beyond the maximum of {max_delay_s:.0f} s "
            "(KEEL_MAX_DELAY_S)"
        )
    return due if due > now else None


def tier(remaining_ms: int) -> int:
    """The partition of the delayed topic for a job with `remaining_ms` left to wait."""
    if remaining_ms < _SECOND_MS:
        return 0
    return min(TIERS - 1, (remaining_ms // _SECOND_MS).bit_length())


def act_at_ms(tier_of: int, due: int) -> int:
    """When the dispatcher acts on a record of tier `tier_of` due at `due` (epoch millis)."""
    if tier_of == 0:
        return due
    return due - (_SECOND_MS << (tier_of - 1)) + 1
