"""When a partition's received records were published: what its time lag is read from.

A partition's time lag is the age of its oldest unfinished record. Each received record leaves
its offset and timestamp here, oldest first; those below the watermark are dropped whenever the
lag or the position is read, in one cut found by bisection, so what is left is little more than
the unfinished records, and the first of them is the oldest.

Numbers, not the records: a record kept here until the next commit outlived its job by up to a
commit interval, and the tens of thousands of them alive at once made the cycle collector walk
them again and again, 1.5 µs of a no-op job's 11 (docs/benchmarks.md, "The worker").
"""

from array import array
from bisect import bisect_left


class Arrivals:
    """The offsets and timestamps (epoch ms) of received records, in the order they came."""

    __slots__ = ("_offsets", "_timestamps")

    def __init__(self) -> None:
        self._offsets = array("q")
        self._timestamps = array("q")

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, offset: int, timestamp_ms: int) -> None:
        self._offsets.append(offset)
        self._timestamps.append(timestamp_ms)

    def forget_below(self, watermark: int | None) -> None:
        """Drop the records below `watermark`, all finished; None (nothing received): all."""
        offsets = self._offsets
        if watermark is None:
            cut = len(offsets)
        elif offsets and offsets[0] < watermark:
            cut = bisect_left(offsets, watermark)
        else:
            return
        del offsets[:cut]
        del self._timestamps[:cut]

    def oldest_ms(self) -> int | None:
        """The timestamp of the oldest record left; None when there is none."""
        return self._timestamps[0] if self._timestamps else None
