"""The completion log each load worker keeps: one line per job its handler finished.

A line is written with a single `write(2)` on an `O_APPEND` descriptor *before* the handler
returns, so by the time the worker may commit the job's offset the line is in the page cache,
where a SIGKILL of the worker cannot take it back. The oracle may therefore trust the logs: a
job missing from every log really never finished.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from keel.load.oracle import Completion

_FIELDS = 5


@dataclass(frozen=True)
class LoggedCompletion:
    """A completion plus the job's intended send time, for the latency histogram."""

    completion: Completion
    intended_ns: int


class CompletionLog:
    """Appends completion lines to one file; one instance per worker process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(self, job_id: str, key: str, seq: int, intended_ns: int, done_ns: int) -> None:
        os.write(self._fd, f"{job_id} {key} {seq} {intended_ns} {done_ns}\n".encode())

    def close(self) -> None:
        os.close(self._fd)


def read_completions(paths: Iterable[Path]) -> Iterator[LoggedCompletion]:
    """Every complete line of the given logs; a torn last line (killed mid-write) is skipped."""
    for path in paths:
        with path.open() as lines:
            for line in lines:
                parsed = parse_line(line)
                if parsed is not None:
                    yield parsed


def parse_line(line: str) -> LoggedCompletion | None:
    """One log line, or None for a line that is not whole."""
    parts = line.split()
    if len(parts) != _FIELDS or not line.endswith("\n"):
        return None
    job_id, key, seq, intended, done = parts
    return LoggedCompletion(Completion(job_id, key, int(seq), int(done)), int(intended))
