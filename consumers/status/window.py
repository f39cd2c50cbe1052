"""A recorder's window as the batch records that carry it, one or more per status partition.

The hooks only note what happened; the bulk of the work is done here, once per window, where
work on whole lists is cheaper than the same work spread over the hooks. A plain `done` (no
result, no error: most jobs) is kept as five plain values, appended to the flat list of its
status partition (`Ended`); here each partition's list becomes its job types' columns
(`DoneRows`): with one job type in the window, the usual case, five slices. Every other
transition is a JSON entry already, keyed by job id, with its place among the `done`s of its
partition.

Within a window the latest transition of a job wins: an id is written once per window, as a
row or as an entry (a `retrying` and then a `done` sends the `done`; a `done` and a later
`running` of the same id, the `running`). Two `done`s of one id stay two rows, in order:
a reader takes the later.
"""

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from keel.consumers.pipeline.records import Message as Record
from keel.consumers.status.values import done_rows
from keel.schemas.headers import JOB_ID
from keel.schemas.status.record import partition_of

# One status partition's plain `done`s of the window, flat: job type, id header bytes, attempt,
# start (the engine's `perf_counter` seconds), handler seconds, then the next job's. Not the
# record: a finished record, with its value, is freed when its job ends, not a window later;
# and no object per job for the cycle collector to walk.
Ended = list[Any]
STRIDE = 5
# job id -> (how many `done`s of its partition's window came before it, its JSON entry)
Pending = dict[str, tuple[int, str]]
# A batch is cut at this many statuses or characters, far below the broker's 1 MB per record.
BATCH_STATUSES = 1_000
BATCH_CHARS = 256 * 1024
_ROW_CHARS = 36  # a row's characters besides its id: quotes, commas, packed times, an attempt


class DoneRows(NamedTuple):
    """The plain `done`s of one job type and partition, as columns, in the order they ended.

    A tuple: the loop that fills it unpacks its lists faster than it reads attributes.
    """

    job_type: str
    ids: list[bytes]  # the job id headers' bytes
    attempts: list[int]
    starts: list[float]  # the engine's clock (`perf_counter`), seconds
    seconds: list[float]  # the handler's, from its start

    @classmethod
    def of(cls, job_type: str) -> "DoneRows":
        return cls(job_type, [], [], [], [])

    def json(self) -> str:
        return done_rows(self.job_type, self.ids, self.attempts, self.starts, self.seconds)

    def rows(self, start: int, stop: int) -> "DoneRows":
        return DoneRows(
            self.job_type,
            self.ids[start:stop],
            self.attempts[start:stop],
            self.starts[start:stop],
            self.seconds[start:stop],
        )

    def without(self, dropped: set[bytes]) -> "DoneRows":
        kept = [n for n, raw in enumerate(self.ids) if raw not in dropped]
        return DoneRows(
            self.job_type,
            [self.ids[n] for n in kept],
            [self.attempts[n] for n in kept],
            [self.starts[n] for n in kept],
            [self.seconds[n] for n in kept],
        )


@dataclass(slots=True)
class Batch:
    """What one record of the status topic carries: entries and rows of one partition."""

    entries: list[str] = field(default_factory=list)
    done: list[DoneRows] = field(default_factory=list)
    statuses: int = 0
    chars: int = 0

    def add(self, rows: DoneRows, chars: int) -> None:
        self.done.append(rows)
        self.statuses += len(rows.ids)
        self.chars += chars

    def room(self, chars: int) -> int:
        """How many more statuses of `chars` characters each fit; an empty batch takes one.

        One status over `BATCH_CHARS` goes alone (the producer refuses one over the broker's
        limit, and it is counted as dropped).
        """
        room = min(BATCH_STATUSES - self.statuses, (BATCH_CHARS - self.chars) // chars)
        return room if self.statuses else max(room, 1)


def batches(ended: list[Ended], pending: Pending, partitions: int) -> Iterator[tuple[int, Batch]]:
    """The window's batches with their partitions.

    `ended[p]` holds partition p's plain `done`s, in the order they ended (see `Ended`).
    """
    waiting: list[Pending] = [{} for _ in range(partitions)]
    for job_id, placed in pending.items():
        waiting[partition_of(job_id, partitions)][job_id] = placed
    for partition, (flat, own) in enumerate(zip(ended, waiting, strict=True)):
        if not flat and not own:
            continue
        groups = _grouped(flat)
        if own:
            groups = _latest_wins(flat, groups, own)
        for batch in _cut([entry for _place, entry in own.values()], groups):
            yield partition, batch


def done_id(record: Record) -> bytes:
    """The job id header's bytes: the first header, as a publisher writes it, or looked for."""
    name, raw = (record.headers() or _NO_ID)[0]
    return raw if name == JOB_ID else _raw_id(record)


def _grouped(flat: Ended) -> list[DoneRows]:
    """One partition's plain `done`s as columns, by job type."""
    types = flat[0::STRIDE]
    if not types:
        return []
    if types.count(types[0]) == len(types):  # one type: usually
        return [DoneRows(types[0], *(flat[n::STRIDE] for n in range(1, STRIDE)))]
    by_type: dict[str, DoneRows] = {}
    strides = [iter(flat)] * STRIDE  # one iterator five times: a job's five values a step
    for job_type, raw, attempt, start, seconds in zip(*strides, strict=True):
        rows = by_type.get(job_type) or by_type.setdefault(job_type, DoneRows.of(job_type))
        rows.ids.append(raw)
        rows.attempts.append(attempt)
        rows.starts.append(start)
        rows.seconds.append(seconds)
    return list(by_type.values())


def _latest_wins(flat: Ended, groups: list[DoneRows], pending: Pending) -> list[DoneRows]:
    """Of a job with both a row and an entry this window, keep only the later of the two.

    `flat` and `pending` are one partition's; `pending` loses the entries a row replaces.
    """
    by_raw = {job_id.encode(): job_id for job_id in pending}
    both: set[bytes] = set()
    for group in groups:
        both |= by_raw.keys() & group.ids
    if not both:
        return groups
    last = {raw: n for n, raw in enumerate(flat[1::STRIDE])}
    dropped = set()
    for raw in both:
        place, _entry = pending[by_raw[raw]]
        if place > last[raw]:
            dropped.add(raw)  # the entry came after the row
        else:
            del pending[by_raw[raw]]
    kept = [group.without(dropped) for group in groups]
    return [group for group in kept if group.ids]


def _cut(entries: list[str], groups: list[DoneRows]) -> Iterator[Batch]:
    """`entries` and `groups` in batches of at most `BATCH_STATUSES` and about `BATCH_CHARS`."""
    batch = Batch()
    for entry in entries:
        if batch.room(len(entry)) < 1:
            yield batch
            batch = Batch()
        batch.entries.append(entry)
        batch.statuses += 1
        batch.chars += len(entry)
    for group in groups:
        chars = len(b"".join(group.ids)) + len(group.ids) * _ROW_CHARS
        if batch.statuses + len(group.ids) <= BATCH_STATUSES and batch.chars + chars <= BATCH_CHARS:
            batch.add(group, chars)  # the usual case: the whole group, no copy
        else:
            batch = yield from _split(batch, group)
    if batch.statuses:
        yield batch


def _split(batch: Batch, group: DoneRows) -> Generator[Batch, None, Batch]:
    """Yields the full batches `group` fills, starting with `batch`; returns the last, open one."""
    chars = max(map(len, group.ids)) + _ROW_CHARS  # a bound on any row's
    start = 0
    while start < len(group.ids):
        room = batch.room(chars)
        if room < 1:
            yield batch
            batch = Batch()
            continue
        rows = group.rows(start, start + room)
        batch.add(rows, len(rows.ids) * chars)
        start += room
    return batch


def _raw_id(record: Record) -> bytes:
    for name, value in record.headers() or ():
        if name == JOB_ID:
            return value
    return b""


_NO_ID = [("", b"")]
