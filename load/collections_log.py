"""Every slow or full garbage collection a process makes, timed, for finding latency stalls.

CPython stops the whole process while it collects. A full (generation-2) pass walks every
tracked object, so its pause grows with the heap: a worker holding a few hundred thousand
objects, or a harness holding every job it sent, pauses for tens of milliseconds to seconds,
and every job waiting on that process waits too. `CollectionLog` hooks `gc.callbacks` and
appends one line per collection worth knowing about (every full pass, and any pass longer than
`slowest_ms`) to a file, so a run's latency spikes can be laid against the pauses of each
process afterwards (`keel.load.stalls`). Counting is cheap: a callback per collection and a
`write(2)` only for the few that are logged.
"""

import gc
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".gc"  # not `.log`: the completion tail reads every `*.log` of a run's folder
_FULL = 2
_FIELDS = 5


@dataclass(frozen=True)
class Collection:
    """One logged collection: when it began (epoch ns), how long it took, and its process."""

    began_ns: int
    duration_ns: int
    generation: int
    collected: int
    pid: int

    @property
    def ended_ns(self) -> int:
        return self.began_ns + self.duration_ns


class CollectionLog:
    """Appends a line per full or slow collection of this process to `path` while installed."""

    def __init__(self, path: Path, slowest_ms: float = 1.0) -> None:
        self.path = path
        self._slowest_ns = int(slowest_ms * 1_000_000)
        self._fd = -1
        self._began_ns = 0
        self._began_perf = 0

    def install(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        gc.callbacks.append(self._on_collection)

    def close(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began_ns = time.time_ns()
            self._began_perf = time.perf_counter_ns()
            return
        took = time.perf_counter_ns() - self._began_perf
        generation = int(info["generation"])
        if generation == _FULL or took >= self._slowest_ns:
            line = f"{self._began_ns} {took} {generation} {info['collected']} {os.getpid()}\n"
            os.write(self._fd, line.encode())


def read_collections(paths: Iterable[Path]) -> Iterator[Collection]:
    """Every whole line of the given collection logs."""
    for path in paths:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == _FIELDS:
                yield Collection(*(int(part) for part in parts))
