"""The records a dispatcher has read from each tier but not yet settled: its read-ahead.

A tier's first record that is not yet due holds up the tier (timing.py says why that is safe).
The records fetched behind it wait here, in offset order, instead of being dropped and fetched
again: the partition is paused only when a tier holds `limit` of them, and resumed, sought to
where the read-ahead ends, once half of them are taken, so a busy tier 0 (a record due every
millisecond) costs no seek per record. Nothing here is committed: a new term starts again from
the committed offsets, and reads the same records again.

Memory: at most `limit` records per tier (and what arrived in the same fetch as the last one).
"""

from collections import deque

from keel.producers.delayed.records import Waiting
from keel.producers.delayed.timing import act_at_ms


class ReadAhead:
    """Per tier, the records read and not yet taken, the first of them the tier's head."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._tiers: dict[int, deque[Waiting]] = {}
        self._last: dict[int, int] = {}  # the offset of the last record read, by tier
        self._full: set[int] = set()  # tiers the caller paused

    def fresh(self, waiting: Waiting) -> bool:
        """Not read before: after a seek back, records already held arrive again."""
        return waiting.offset > self._last.get(waiting.tier, -1)

    def holds(self, tier: int) -> bool:
        return bool(self._tiers.get(tier))

    def hold(self, waiting: Waiting) -> bool:
        """Keep `waiting` behind its tier's head; True when the tier is now full (pause it)."""
        held = self._tiers.setdefault(waiting.tier, deque())
        held.append(waiting)
        self._last[waiting.tier] = waiting.offset
        if len(held) >= self._limit and waiting.tier not in self._full:
            self._full.add(waiting.tier)
            return True
        return False

    def passed(self, waiting: Waiting) -> None:
        """`waiting` was read and taken at once (it was due, and nothing of its tier waited)."""
        self._last[waiting.tier] = waiting.offset

    def due(self, now: int, room: int) -> list[Waiting]:
        """Up to `room` records whose time has come, each tier's in order, lowest tier first."""
        taken: list[Waiting] = []
        for tier in sorted(self._tiers):
            held = self._tiers[tier]
            while held and len(taken) < room and act_at_ms(tier, held[0].due) <= now:
                taken.append(held.popleft())
        return taken

    def to_resume(self) -> dict[int, int]:
        """Full tiers that have room again, each with the offset to read from next."""
        # Half empty, not merely below the limit: a tier at its limit is not paused and resumed
        # (and sought) for every record taken.
        low = self._limit // 2
        ready = {t: self._last[t] + 1 for t in self._full if len(self._tiers[t]) <= low}
        self._full -= ready.keys()
        return ready

    def first_act_at(self) -> int | None:
        """When the earliest head is due to be acted on (epoch millis), if any is held."""
        heads = [act_at_ms(t, held[0].due) for t, held in self._tiers.items() if held]
        return min(heads, default=None)

    def head_offset(self, tier: int) -> int | None:
        held = self._tiers.get(tier)
        return held[0].offset if held else None
