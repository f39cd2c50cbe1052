"""The commit metadata a partition's next owner reads: what finished, and what had begun.

Beside the committed watermark, Kafka stores a string of at most 4 KB. Version 1 (`k1:`, see
`offsets`) held only the offsets finished above the watermark. Version 2 (`k2:`) adds what the
next owner needs to keep counting attempts where this one stopped:

- the *in-flight* entries: per unfinished record that has begun at least one attempt, its offset,
  how many attempts have begun, and, for a retry waiting out its backoff, when it is due;
- the *sealed* mark: this owner will start nothing more on the partition (it is draining for a
  revoke or a shutdown), so every attempt it ever began is among the entries. Metadata that is
  not sealed was written by an owner that went on working: it may have begun attempts (and died
  in one) after this commit, which is why its successor starts the partition in careful mode
  (see `careful`).

The layout, as unsigned varints, base64url after the prefix:

    flags (bit 0: sealed)  written_ms (0 unless a due time needs it)
    runs   (gap, length) * runs                  finished above, as in `k1:`
    count  (gap, begun, due) * count             in flight; due = 0, or 1 + ms after written_ms

Offsets are gaps from the end of the previous run or entry (the first from the watermark). A
due time is written relative to `written_ms` so that it costs 2-3 bytes, not 6.

When everything does not fit, the in-flight entries go first, nearest the watermark first, and
finished runs fill what is left. An entry left out loses that record's count of begun attempts
(its next run counts from 1 again, so it may run once more than its policy says), and the
metadata is then never sealed, so the next owner is careful and counts from there on. A finished
run left out costs a duplicate run, never a lost job.
"""

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from keel.consumers.pipeline.offsets import (
    METADATA_LIMIT,
    decode_finished,
    read_varints,
    runs_of,
    varint,
)

PREFIX = "k2:"
_V1_PREFIX = "k1:"
_SEALED = 1


@dataclass(frozen=True, slots=True)
class InFlight:
    """A record that began `begun` attempts and has not finished; `due_ms`: its retry's time."""

    begun: int
    due_ms: int = 0  # wall-clock epoch ms when its retry is due; 0: not waiting for one


@dataclass(frozen=True, slots=True)
class CommitMetadata:
    """What the previous owner of a partition left beside its committed offset."""

    finished: list[int] = field(default_factory=list)
    in_flight: dict[int, InFlight] = field(default_factory=dict)
    # True when the writer started nothing after writing it, or when it was not ours to read
    # (no metadata, `k1:` from a worker that counted nothing, or another tool's string).
    sealed: bool = True


def encode_metadata(
    base: int,
    finished: Iterable[int],
    in_flight: Mapping[int, InFlight],
    *,
    sealed: bool,
    now_ms: int,
    limit: int = METADATA_LIMIT,
) -> str:
    """Pack the finished offsets and in-flight entries at or above `base` within `limit` bytes."""
    budget = (limit - len(PREFIX)) * 3 // 4 - 16  # base64 grows 4/3; the counts need room
    # The clock is written only when a due time needs it: otherwise the metadata of a partition
    # where nothing moved stays the same string, and the committer has nothing to commit.
    written_ms = now_ms if any(entry.due_ms for entry in in_flight.values()) else 0
    entries, dropped = _entries(base, in_flight, written_ms, budget)
    runs = _runs(base, finished, budget - len(entries))
    head = varint(_SEALED if sealed and not dropped else 0) + varint(written_ms)
    body = head + runs + entries
    return PREFIX + base64.urlsafe_b64encode(body).decode("ascii")


def decode_metadata(base: int, metadata: str | None) -> CommitMetadata:
    """What `encode_metadata(base, ...)` packed; `k1:` and foreign metadata read as sealed."""
    if not metadata or not metadata.startswith(PREFIX):
        if metadata and metadata.startswith(_V1_PREFIX):
            return CommitMetadata(finished=decode_finished(base, metadata))
        return CommitMetadata()
    try:
        numbers = read_varints(base64.urlsafe_b64decode(metadata[len(PREFIX) :]))
        return _parse(base, numbers)
    except (ValueError, IndexError):
        return CommitMetadata()


def is_sealed(metadata: str | None) -> bool:
    """Whether the partition's previous owner handed it over cleanly (see the module doc)."""
    return decode_metadata(0, metadata).sealed


def _entries(
    base: int, in_flight: Mapping[int, InFlight], now_ms: int, budget: int
) -> tuple[bytes, bool]:
    body = bytearray()
    count = 0
    previous = base
    wanted = sorted(o for o in in_flight if o >= base)
    for offset in wanted:
        entry = in_flight[offset]
        due = 0 if not entry.due_ms else 1 + max(0, entry.due_ms - now_ms)
        chunk = varint(offset - previous) + varint(entry.begun) + varint(due)
        if len(body) + len(chunk) > budget // 2 + budget // 4:
            break  # nearest the watermark kept; finished runs keep a quarter at least
        body += chunk
        count += 1
        previous = offset + 1
    return varint(count) + bytes(body), count < len(wanted)


def _runs(base: int, finished: Iterable[int], budget: int) -> bytes:
    body = bytearray()
    count = 0
    previous_end = base
    for start, length in runs_of(sorted(o for o in finished if o >= base)):
        chunk = varint(start - previous_end) + varint(length)
        if len(body) + len(chunk) > budget:
            break
        body += chunk
        count += 1
        previous_end = start + length
    return varint(count) + bytes(body)


def _parse(base: int, numbers: list[int]) -> CommitMetadata:
    flags, written_ms, runs = numbers[0], numbers[1], numbers[2]
    position = 3
    finished: list[int] = []
    start = base
    for _ in range(runs):
        start += numbers[position]
        finished.extend(range(start, start + numbers[position + 1]))
        start += numbers[position + 1]
        position += 2
    in_flight: dict[int, InFlight] = {}
    offset = base
    for _ in range(numbers[position]):
        offset += numbers[position + 1]
        due = numbers[position + 3]
        in_flight[offset] = InFlight(numbers[position + 2], written_ms + due - 1 if due else 0)
        offset += 1
        position += 3
    if position + 1 != len(numbers):
        raise ValueError("trailing data")
    return CommitMetadata(finished, in_flight, bool(flags & _SEALED))
