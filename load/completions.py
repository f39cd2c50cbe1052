"""The run log each load worker keeps: one line per run of a job's handler, failed runs too.

A line holds the job, when its handler started and ended, the worker's pid, the attempt, and
whether the run succeeded. It is written with a single `write(2)` on an `O_APPEND` descriptor
*before* the handler returns, so by the time the worker may commit the job's offset the line is
in the page cache, where a SIGKILL of the worker cannot take it back. The oracle may therefore
trust the logs: a job missing from every log really never finished. A run cut short by a
SIGKILL leaves no line; its job runs again on the next owner, and that run is logged.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from keel.load.key_runs import Run

_FIELDS = 9
_OK, _FAILED = "ok", "failed"


@dataclass(frozen=True)
class LoggedRun:
    """A run plus the job's intended send time, for the latency histogram."""

    run: Run
    intended_ns: int


class CompletionLog:
    """Appends run lines to one file; one instance per worker process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(self, run: Run, intended_ns: int) -> None:
        outcome = _OK if run.ok else _FAILED
        line = (
            f"{run.job_id} {run.key} {run.seq} {intended_ns} {run.start_ns} {run.end_ns} "
            f"{run.worker} {run.attempt} {outcome}\n"
        )
        os.write(self._fd, line.encode())

    def close(self) -> None:
        os.close(self._fd)


def read_completions(paths: Iterable[Path]) -> Iterator[LoggedRun]:
    """Every complete line of the given logs; a torn last line (killed mid-write) is skipped."""
    for path in paths:
        with path.open() as lines:
            for line in lines:
                parsed = parse_line(line)
                if parsed is not None:
                    yield parsed


def parse_line(line: str) -> LoggedRun | None:
    """One log line, or None for a line that is not whole."""
    parts = line.split()
    if len(parts) != _FIELDS or not line.endswith("\n") or parts[-1] not in (_OK, _FAILED):
        return None
    job_id, key, seq, intended, start, end, worker, attempt, outcome = parts
    ok = outcome == _OK
    run = Run(job_id, key, int(seq), int(start), int(end), int(worker), int(attempt), ok)
    return LoggedRun(run, int(intended))
