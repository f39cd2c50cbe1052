"""CPU and memory of the worker processes, sampled while a run goes on."""

import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class ProcessSample:
    """One process at one moment: CPU since the previous sample (100 = one core), RSS."""

    at_s: float
    pid: int
    cpu_percent: float
    rss_mb: float


class ResourceSampler:
    """Samples a changing set of pids; a pid that has exited is dropped quietly."""

    def __init__(self) -> None:
        self._processes: dict[int, psutil.Process] = {}
        self._started = time.monotonic()
        self.samples: list[ProcessSample] = []

    def track(self, pid: int) -> None:
        if pid not in self._processes:
            process = psutil.Process(pid)
            process.cpu_percent(None)  # the first call only sets the baseline
            self._processes[pid] = process

    def sample(self) -> list[ProcessSample]:
        now = time.monotonic() - self._started
        taken = []
        for pid, process in list(self._processes.items()):
            try:
                with process.oneshot():
                    cpu = process.cpu_percent(None)
                    rss = process.memory_info().rss / 2**20
            except psutil.Error:
                del self._processes[pid]
                continue
            taken.append(ProcessSample(now, pid, cpu, rss))
        self.samples.extend(taken)
        return taken

    def peaks(self) -> dict[str, float]:
        """The highest CPU and RSS any one worker reached."""
        if not self.samples:
            return {"cpu_percent_max": 0.0, "rss_mb_max": 0.0}
        return {
            "cpu_percent_max": max(s.cpu_percent for s in self.samples),
            "rss_mb_max": max(s.rss_mb for s in self.samples),
        }
