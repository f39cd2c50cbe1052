"""The records a dispatcher has read from each tier but not yet settled: its read-ahead.

A tier's first record that is not yet due holds up the tier (timing.py says why that is safe).
Records fetched behind it wait here, in offset order, instead of being dropped and fetched again
after a seek: a busy tier 0 (a record due every millisecond) then costs no seek per record.
Reading ahead only pays for a tier whose head is acted on soon, so a tier is paused (and later
resumed, sought to where its read-ahead ends) when its head is further than `horizon_ms` away,
or when the read-ahead of all tiers together holds `budget` records; it is resumed when its head
comes within the horizon and the read-ahead is down to half the budget. Nothing here is
committed: a new term starts again from the committed offsets, and reads the same records again.

Memory: `budget` records in tiers whose head is near, plus what a tier paused for the budget
still brings in the fetch under way, plus what a tier held before its head went far (itself
within the budget): twice the budget at most, whatever the number of pending jobs.
"""

from collections import deque

from keel.producers.delayed.records import Waiting
from keel.producers.delayed.timing import act_at_ms


class ReadAhead:
    """Per tier, the records read and not yet taken, the first of them the tier's head."""

    def __init__(self, budget: int, horizon_ms: int) -> None:
        self._budget = budget
        self._horizon_ms = horizon_ms
        self._tiers: dict[int, deque[Waiting]] = {}
        self._last: dict[int, int] = {}  # the offset of the last record read, by tier
        self._paused: set[int] = set()
        self._held = 0

    def fresh(self, waiting: Waiting) -> bool:
        """Not read before: after a seek back, records already held arrive again."""
        return waiting.offset > self._last.get(waiting.tier, -1)

    def holds(self, tier: int) -> bool:
        return bool(self._tiers.get(tier))

    def hold(self, waiting: Waiting, now: int) -> bool:
        """Keep `waiting` behind its tier's head; True when the tier is to be paused now."""
        tier = waiting.tier
        if tier in self._paused and self._far(tier, now):
            return False  # behind a far head: fetched again once the head is near
        held = self._tiers.setdefault(tier, deque())
        held.append(waiting)
        self._held += 1
        self._last[tier] = waiting.offset
        if tier in self._paused:
            return False  # arrived in the fetch that was under way
        if self._held >= self._budget or self._far(tier, now):
            self._paused.add(tier)
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
        self._held -= len(taken)
        return taken

    def to_resume(self, now: int) -> dict[int, int]:
        """Paused tiers to fetch again, each with the offset to read from next."""
        # What far tiers hold (read before their head went far) waits for them: it does not
        # keep the near tiers paused.
        near = [t for t in self._tiers if not self._far(t, now)]
        if sum(len(self._tiers[t]) for t in near) > self._budget // 2:
            return {}
        ready = {t: self._last[t] + 1 for t in self._paused if not self._far(t, now)}
        self._paused -= ready.keys()
        return ready

    def first_act_at(self) -> int | None:
        """When the earliest head is due to be acted on (epoch millis), if any is held."""
        heads = [act_at_ms(t, held[0].due) for t, held in self._tiers.items() if held]
        return min(heads, default=None)

    def head_offset(self, tier: int) -> int | None:
        held = self._tiers.get(tier)
        return held[0].offset if held else None

    def _far(self, tier: int, now: int) -> bool:
        held = self._tiers.get(tier)
        return (
            held is not None
            and bool(held)
            and act_at_ms(tier, held[0].due) - now > self._horizon_ms
        )
