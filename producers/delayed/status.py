"""What a running dispatcher shows the outside: its counts, its lateness, whether it leads.

The dispatcher's loop writes it, and `/metrics`, `/livez` and `/readyz` (health.py) read it from
the HTTP server's thread. Each field is replaced whole or bumped under the GIL, so a reader sees
a consistent value of each; a scrape may see a release counted before its lateness, never a
torn number.
"""

import bisect
import time
from dataclasses import dataclass, field

# Seconds a released job ran after its due time: the target is p99 <= 1 s (docs/scheduling.md).
LATENESS_BOUNDS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The loop turns at least every `tick_s`; a commit may block it for up to the delivery timeout.
LIVE_WINDOW_S = 60.0


@dataclass
class Lateness:
    """A histogram of how late released jobs were, in seconds (Prometheus buckets)."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENESS_BOUNDS_S) + 1))
    total_s: float = 0.0

    def observe(self, late_ms: int) -> None:
        seconds = max(late_ms, 0) / 1000
        self.buckets[bisect.bisect_left(LATENESS_BOUNDS_S, seconds)] += 1
        self.total_s += seconds

    @property
    def count(self) -> int:
        return sum(self.buckets)


@dataclass
class Counts:
    """What this process committed, over all its terms, by outcome: released, refiled,
    cancelled (dropped for a cancel) and expired (dropped: its expiry passed first); and how
    late the released ones were."""

    transactions: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    lateness: Lateness = field(default_factory=Lateness)


@dataclass
class DispatcherStatus:
    """The loop's state as the health endpoints read it."""

    counts: Counts = field(default_factory=Counts)
    leading: bool = False  # the group says this process leads
    term_open: bool = False  # and its term is open: it releases
    last_turn: float | None = None  # time.monotonic() of the loop's last turn
    # Records not yet settled per tier (its end offset minus where the dispatcher stands, so
    # counting transaction markers too): refreshed every few seconds by the leader only.
    pending: dict[int, int] = field(default_factory=dict)

    def turned(self) -> None:
        self.last_turn = time.monotonic()

    def live(self) -> bool:
        """The loop turned lately (before its first turn, it is starting: live)."""
        return self.last_turn is None or time.monotonic() - self.last_turn < LIVE_WINDOW_S

    def ready(self) -> bool:
        """It has turned, and stands by, or leads with its term open."""
        return self.last_turn is not None and (self.term_open or not self.leading)
