"""Sampling a run while it goes: completions, throughput, lag, tail latency, CPU and memory."""

import threading
import time

from confluent_kafka import KafkaException

from keel.load.completions import LoggedRun
from keel.load.lag import LagProbe
from keel.load.report import TimelinePoint
from keel.load.resources import ResourceSampler
from keel.load.tail import CompletionTail
from keel.load.workers import WorkerPool

_P99 = 0.99


class Monitor:
    """A thread that samples every `every_s`; `completed` counts the completions read so far.

    It keeps the count, not the lines: a list of every completion grew with the run and was
    walked by each full collection of the producing process (`keel.load.sent` says why that
    delayed sends).
    """

    def __init__(
        self, tail: CompletionTail, lag: LagProbe, pool: WorkerPool, every_s: float = 0.5
    ) -> None:
        self.timeline: list[TimelinePoint] = []
        self.completed = 0
        self.resources = ResourceSampler()
        self.last_lag = -1
        self._tail = tail
        self._lag = lag
        self._pool = pool
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-monitor", daemon=True)
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        with self._lock:
            now = time.monotonic() - self._started
            new = self._tail.read_new()
            self.completed += len(new)
            self.last_lag = self._sample_lag()
            for worker in self._pool.running():
                self.resources.track(worker.pid)
            self.resources.sample()
            previous = self.timeline[-1].at_s if self.timeline else 0.0
            per_s = len(new) / max(now - previous, 1e-9)
            self.timeline.append(
                TimelinePoint(now, self.completed, per_s, self.last_lag, _p99_ms(new))
            )

    def _sample_lag(self) -> int:
        # While a fault has the broker down, the lag cannot be read: keep the last value.
        try:
            return self._lag.lag()
        except KafkaException:
            return self.last_lag

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.sample()


def _p99_ms(window: list[LoggedRun]) -> float:
    if not window:
        return 0.0
    latencies = sorted(c.run.end_ns - c.intended_ns for c in window)
    return latencies[min(len(latencies) - 1, int(len(latencies) * _P99))] / 1e6
