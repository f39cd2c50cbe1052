"""Which offset of a partition may be committed, and what a new owner may skip.

A worker finishes jobs out of offset order: keys run concurrently, so offset 7 can finish
before offset 3. Committing "the latest success" would then tell Kafka that 3 is done while it
is still running, and a crash would lose it. The tracker therefore commits only the *contiguous
watermark*: one past the highest offset below which every received record has finished
(succeeded, or been durably dead-lettered).

Records finished above the watermark are not forgotten: they go into the commit metadata (a
string Kafka stores beside the offset, at most 4 KB), and the partition's next owner skips them
instead of running them again. `encode_finished` / `decode_finished` are that metadata's first
version (`k1:`); the worker now writes version 2 (`metadata`), which packs the same runs beside
the attempts in flight, and still reads version 1.

Offsets a partition never delivered (gaps left by compaction or transaction markers) count as
finished: the watermark is the oldest *received* offset still outstanding.
"""

import base64
from collections import deque
from collections.abc import Iterable

# Kafka refuses commit metadata above `offset.metadata.max.bytes` (4096 by default).
METADATA_LIMIT = 4096
_PREFIX = "k1:"


class PartitionOffsets:
    """The offsets of one partition that were received and are not finished yet.

    Offsets must be received in increasing order (as a partition delivers them); they may be
    finished in any order. All operations are O(1) amortised.
    """

    __slots__ = ("_finished", "_next", "_outstanding", "_skip")

    def __init__(self, start: int | None, skip: Iterable[int] = ()) -> None:
        # None: no committed position; the first record received sets it.
        self._next = start
        self._outstanding: deque[int] = deque()
        self._finished: set[int] = set()
        self._skip = {offset for offset in skip if start is None or offset >= start}

    def receive(self, offset: int) -> bool:
        """Record that `offset` arrived; False when a previous owner already finished it."""
        if self._next is not None and offset < self._next:
            return False  # a redelivery below what we already track: nothing to run
        self._next = offset + 1
        self._outstanding.append(offset)
        if offset in self._skip:
            # Finished by a previous owner: finished here too, so that it stays in the
            # finished-above set this owner commits until the watermark passes it.
            self._skip.discard(offset)
            self.finish(offset)
            return False
        return True

    def finish(self, offset: int) -> None:
        """Mark a received offset finished; the watermark moves when the oldest one finishes."""
        outstanding = self._outstanding
        if outstanding and outstanding[0] == offset:
            outstanding.popleft()
            finished = self._finished
            while outstanding and outstanding[0] in finished:
                finished.discard(outstanding.popleft())
        else:
            self._finished.add(offset)

    def pass_to(self, offset: int) -> None:
        """The consumer's position is `offset`: whatever below it was not received never will be.

        Transaction markers and aborted records take offsets a `read_committed` consumer never
        delivers (see `markers`); with nothing received unfinished, the watermark moves past
        them to `offset`. A record still outstanding keeps the watermark at its own offset.
        """
        if self._next is None or offset > self._next:
            self._next = offset

    def committable(self) -> int | None:
        """One past the highest offset below which every received record has finished.

        None while nothing was committed before and nothing has been received.
        """
        return self._outstanding[0] if self._outstanding else self._next

    def finished_above(self) -> list[int]:
        """Offsets finished above the watermark (and skips not yet seen), sorted."""
        return sorted(self._finished | self._skip)

    def outstanding(self) -> int:
        """How many received records are not finished."""
        return len(self._outstanding) - len(self._finished)


def encode_finished(base: int, offsets: Iterable[int], limit: int = METADATA_LIMIT) -> str:
    """Pack finished offsets above `base` as runs of varint deltas, base64, within `limit` bytes.

    When the runs do not all fit, the ones nearest the watermark are kept: the rest run again
    on the next owner, which costs a duplicate but never loses a job.
    """
    runs = runs_of(sorted(o for o in offsets if o >= base))
    body = bytearray()
    previous_end = base
    budget = (limit - len(_PREFIX)) * 3 // 4 - 2  # base64 grows 4/3, keep a little slack
    for start, length in runs:
        chunk = varint(start - previous_end) + varint(length)
        if len(body) + len(chunk) > budget:
            break
        body += chunk
        previous_end = start + length
    if not body:
        return ""
    return _PREFIX + base64.urlsafe_b64encode(bytes(body)).decode("ascii")


def decode_finished(base: int, metadata: str | None) -> list[int]:
    """The offsets `encode_finished(base, ...)` packed; empty for foreign or broken metadata."""
    if not metadata or not metadata.startswith(_PREFIX):
        return []
    try:
        data = base64.urlsafe_b64decode(metadata[len(_PREFIX) :])
        numbers = read_varints(data)
    except ValueError:
        return []
    if len(numbers) % 2:
        return []
    offsets: list[int] = []
    position = base
    for gap, length in zip(numbers[::2], numbers[1::2], strict=True):
        start = position + gap
        offsets.extend(range(start, start + length))
        position = start + length
    return offsets


def runs_of(offsets: list[int]) -> list[tuple[int, int]]:
    """Sorted offsets as (start, length) runs of consecutive offsets; duplicates collapse."""
    runs: list[tuple[int, int]] = []
    for offset in offsets:
        if runs and runs[-1][0] + runs[-1][1] == offset:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        elif not runs or offset >= runs[-1][0] + runs[-1][1]:
            runs.append((offset, 1))
    return runs


def varint(number: int) -> bytes:
    """`number` (>= 0) as an unsigned LEB128 varint."""
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if number:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def read_varints(data: bytes) -> list[int]:
    """Every varint in `data`; ValueError when the last one is cut short."""
    numbers: list[int] = []
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            numbers.append(value)
            value = shift = 0
    if shift:
        raise ValueError("truncated varint")
    return numbers
