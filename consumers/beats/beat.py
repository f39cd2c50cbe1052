"""One heartbeat: what a worker process runs now and what it has counted, as a small record.

The key names the process (`WorkerId`: group, host, pid and its slot under
`keel worker --processes N`); the value is a JSON object, read by `keel workers` and the console
with nothing but the standard library. Counters are the worker's own totals since it started
(`telemetry.metrics`); each beat also carries the counters of the beat before it, so a reader
turns one record into rates (`rates`) even once compaction has removed the earlier record.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from keel.consumers.pipeline.observer import DEAD_LETTERED, FAILED, PROCESSED, RETRIED
from keel.consumers.telemetry.metrics import Snapshot

FORMAT = 1  # the value's `v`: a reader skips a beat of a format it does not know
# The counters a beat carries: jobs finished, failed for good, retried, and dead-lettered
# (a failed job is dead-lettered too, and so is a poison record that never ran).
COUNTERS = (PROCESSED, FAILED, RETRIED, DEAD_LETTERED)
_SEPARATOR = "\x00"


@dataclass(frozen=True, order=True)
class WorkerId:
    """One worker process: its group, host (the pod's name), pid, and slot (None: unsupervised)."""

    group: str
    host: str
    pid: int
    child: int | None = None

    def key(self) -> bytes:
        """The record key: every field, so two processes never share one."""
        slot = "" if self.child is None else str(self.child)
        return _SEPARATOR.join([self.group, self.host, str(self.pid), slot]).encode()

    def __str__(self) -> str:
        slot = "" if self.child is None else f"#{self.child}"
        return f"{self.host}:{self.pid}{slot}"


@dataclass(frozen=True)
class Counts:
    """The counters at one moment (epoch seconds `at`)."""

    at: float
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Beat:
    """What one worker process said at `now.at`."""

    worker: WorkerId
    started: float  # epoch seconds
    interval: float  # seconds to the next beat
    running: int
    buffered: int
    partitions: tuple[tuple[str, int], ...]
    now: Counts
    before: Counts | None = None  # the previous beat's counters (None: this is the first)

    def rates(self) -> dict[str, float]:
        """Jobs per second of each counter between the previous beat and this one."""
        return rates(self.before, self.now)


def beat_of(
    worker: WorkerId,
    snapshot: Snapshot,
    at: float,
    interval: float,
    before: Counts | None,
) -> Beat:
    """The beat that `snapshot` (the worker's metrics, read now) makes."""
    totals = dict.fromkeys(COUNTERS, 0)
    for (_job_type, outcome), jobs in snapshot.counts.items():
        if outcome in totals:
            totals[outcome] += jobs
    return Beat(
        worker=worker,
        started=snapshot.started,
        interval=interval,
        running=snapshot.running,
        buffered=snapshot.buffered,
        partitions=tuple(sorted(snapshot.time_lag)),  # the engine's owned partitions
        now=Counts(at, totals),
        before=before,
    )


def rates(before: Counts | None, now: Counts) -> dict[str, float]:
    """Per counter, its rise from `before` to `now` per second; zeros without a `before`."""
    seconds = now.at - before.at if before is not None else 0.0
    if before is None or seconds <= 0:
        return dict.fromkeys(now.counts, 0.0)
    return {
        name: max(count - before.counts.get(name, 0), 0) / seconds
        for name, count in now.counts.items()
    }


def encode(beat: Beat) -> bytes:
    """The record value of `beat`."""
    fields = asdict(beat)
    fields["partitions"] = [list(tp) for tp in beat.partitions]
    return json.dumps({"v": FORMAT, **fields}, separators=(",", ":")).encode()


def decode(value: bytes) -> Beat | None:
    """The beat in a record value; None for a value that is not a beat this reader knows."""
    try:
        found = json.loads(value)
        if found.get("v") != FORMAT:
            return None
        before = found["before"]
        return Beat(
            worker=WorkerId(**found["worker"]),
            started=float(found["started"]),
            interval=float(found["interval"]),
            running=int(found["running"]),
            buffered=int(found["buffered"]),
            partitions=tuple((str(t), int(p)) for t, p in found["partitions"]),
            now=Counts(**found["now"]),
            before=None if before is None else Counts(**before),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
