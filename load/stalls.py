"""Which slow jobs of a live round a garbage collection was under, and in which process.

A job is *slow* when it finished more than `slow_ms` after its intended send time. It is
*under* a collection when a logged collection (`keel.load.collections_log`) of some process
overlapped the job's life, from its intended send time to the end of its run: a pause of the
producing harness holds back the send, one of the job's worker holds back its fetch or its
handler. A slow job under no logged collection waited on something else (the broker, the CPU
taken by other processes, the commit, flow control). `stalls.json` in a live round's folder
holds the counts, so the evidence for a fix is in the run's own output.
"""

import bisect
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from keel.load.collections_log import Collection
from keel.load.completions import LoggedRun

SLOW_MS = 20.0  # the p99 target at 1,000 jobs/s


@dataclass(frozen=True)
class Pauses:
    """The logged collections of one process."""

    full: int
    logged: int
    total_ms: float
    longest_ms: float


@dataclass(frozen=True)
class Stalls:
    """Slow jobs, and how many of them a collection of the harness or of their worker was under."""

    slow_ms: float
    jobs: int
    slow: int
    under_harness_collection: int
    under_worker_collection: int
    under_none: int
    harness: Pauses
    workers: dict[int, Pauses]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def find_stalls(
    runs: Iterable[LoggedRun],
    collections: Iterable[Collection],
    harness_pid: int,
    slow_ms: float = SLOW_MS,
) -> Stalls:
    by_pid: dict[int, list[Collection]] = {}
    for collection in sorted(collections, key=lambda c: c.began_ns):
        by_pid.setdefault(collection.pid, []).append(collection)
    harness = by_pid.pop(harness_pid, [])
    counts = {"jobs": 0, "slow": 0, "harness": 0, "worker": 0, "none": 0}
    for logged in runs:
        if not logged.run.ok:
            continue
        counts["jobs"] += 1
        if logged.run.end_ns - logged.intended_ns <= slow_ms * 1_000_000:
            continue
        counts["slow"] += 1
        span = (logged.intended_ns, logged.run.end_ns)
        in_harness = _overlaps(harness, *span)
        in_worker = _overlaps(by_pid.get(logged.run.worker, []), *span)
        counts["harness"] += in_harness
        counts["worker"] += in_worker
        counts["none"] += not (in_harness or in_worker)
    return Stalls(
        slow_ms=slow_ms,
        jobs=counts["jobs"],
        slow=counts["slow"],
        under_harness_collection=counts["harness"],
        under_worker_collection=counts["worker"],
        under_none=counts["none"],
        harness=_pauses(harness),
        workers={pid: _pauses(found) for pid, found in by_pid.items()},
    )


def _overlaps(ordered: list[Collection], began_ns: int, ended_ns: int) -> bool:
    """Whether a collection of `ordered` (by start) overlapped [began_ns, ended_ns]."""
    last_before_end = bisect.bisect_right(ordered, ended_ns, key=lambda c: c.began_ns) - 1
    # Pauses are short against the gaps between them: the latest to start is the one to check.
    return last_before_end >= 0 and ordered[last_before_end].ended_ns >= began_ns


def _pauses(found: list[Collection]) -> Pauses:
    durations = [c.duration_ns / 1e6 for c in found]
    return Pauses(
        full=sum(1 for c in found if c.generation == 2),
        logged=len(found),
        total_ms=round(sum(durations), 3),
        longest_ms=round(max(durations, default=0.0), 3),
    )
