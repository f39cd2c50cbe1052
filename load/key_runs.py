"""Every run of a key's jobs, judged: one at a time, and in order, replays included.

keel runs the jobs of one key one after the other, in offset order. At-least-once delivery adds
replays: after a crash or a lost session the next owner starts again at the committed offset and
runs the key's jobs from there, again in order; a committed offset only moves forward, so a
later replay never starts below an earlier one. Walking a key's runs by start time, a run is
*out of order* when

- it is a retry (attempt > 1) that does not directly follow a run of the same job;
- it goes back (attempt 1, a job at or below the previous run's) to a job that has not run
  before, or below where the previous replay started;
- it goes forward past a job that has already run and was not run again since the last replay
  started (a replay repeats every job it reaches, in order).

A run *overlaps* when it starts before an earlier-started run of the same key has ended.

Each rule is applied to the runs of every worker alone, and to the runs of all workers merged by
time. Within one worker, a break of either rule is a bug. Across workers it can be the price of
a frozen worker: one paused past its session keeps its jobs, and finishes them (or runs one more)
while the new owner already runs the same key; Kafka fences its commits, not its handlers. So
`across` counts only what the merged view adds to the per-worker views: it is reported, and
`within` fails a run.
"""

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """One run of a job's handler, as a worker logged it: start, end and how it ended."""

    job_id: str
    key: str
    seq: int
    start_ns: int
    end_ns: int
    worker: int = 0
    attempt: int = 1
    ok: bool = True


@dataclass(frozen=True)
class Breaks:
    """Runs that broke a rule: inside one worker's own runs, or only once workers are merged."""

    within: list[Run]
    across: list[Run]


Rule = Callable[[list[Run]], list[int]]


def overlaps(runs: Iterable[Run]) -> Breaks:
    return _judge(runs, _overlapping)


def out_of_order(runs: Iterable[Run]) -> Breaks:
    return _judge(runs, _out_of_order)


def by_time(runs: Iterable[Run]) -> list[Run]:
    """Runs in the order they started; the logs of many workers arrive in any order."""
    return sorted(runs, key=lambda r: (r.start_ns, r.end_ns, r.seq, r.attempt))


def _judge(runs: Iterable[Run], rule: Rule) -> Breaks:
    ordered = by_time(runs)
    within: set[int] = set()
    merged: set[int] = set()
    for view in _groups(ordered, lambda r: (r.key, r.worker)):
        within.update(view[i] for i in rule([ordered[j] for j in view]))
    for view in _groups(ordered, lambda r: (r.key,)):
        merged.update(view[i] for i in rule([ordered[j] for j in view]))
    return Breaks(
        within=[ordered[i] for i in sorted(within)],
        across=[ordered[i] for i in sorted(merged - within)],
    )


def _groups(ordered: list[Run], group_of: Callable[[Run], tuple[object, ...]]) -> list[list[int]]:
    """Positions in `ordered` of each group's runs, still in time order."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for position, run in enumerate(ordered):
        groups.setdefault(group_of(run), []).append(position)
    return list(groups.values())


def _overlapping(runs: list[Run]) -> list[int]:
    """Runs that start before an earlier-started run has ended."""
    flagged = []
    latest_end = None
    for position, run in enumerate(runs):
        if latest_end is not None and run.start_ns < latest_end:
            flagged.append(position)
        latest_end = run.end_ns if latest_end is None else max(latest_end, run.end_ns)
    return flagged


def _out_of_order(runs: list[Run]) -> list[int]:
    """Runs that break the key's order; a flagged run does not move the walk (no cascade)."""
    walk = _Walk()
    return [position for position, run in enumerate(runs) if not walk.step(run)]


class _Walk:
    """Where a key's runs stand: the previous run, where the last replay started, what ran."""

    def __init__(self) -> None:
        self.previous: Run | None = None
        self.replay_from = -1
        self.ran: list[int] = []  # sorted seqs that have run at least once

    def step(self, run: Run) -> bool:
        in_order = self._in_order(run)
        if in_order:
            if self.previous is not None and self._goes_back(run):
                self.replay_from = run.seq
            self.previous = run
        if not self._has_run(run.seq):
            bisect.insort(self.ran, run.seq)
        return in_order

    def _in_order(self, run: Run) -> bool:
        previous = self.previous
        if previous is None:
            return run.attempt == 1
        if run.attempt > 1:
            return run.seq == previous.seq
        if self._goes_back(run):
            return self._has_run(run.seq) and run.seq >= self.replay_from
        passed = bisect.bisect_left(self.ran, run.seq) - bisect.bisect_right(self.ran, previous.seq)
        return passed == 0

    def _goes_back(self, run: Run) -> bool:
        return self.previous is not None and run.attempt == 1 and run.seq <= self.previous.seq

    def _has_run(self, seq: int) -> bool:
        at = bisect.bisect_left(self.ran, seq)
        return at < len(self.ran) and self.ran[at] == seq
