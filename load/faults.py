"""Faults a run can inject while it produces: the failures keel claims to survive.

- kill-worker: SIGKILL a worker (no drain, no commit), start a replacement;
- pause-worker: SIGSTOP a worker past its session timeout, then SIGCONT (a zombie member);
- restart-broker: stop the local broker and start it again;
- rebalance: workers join and leave the group in turn.

Each fault is applied on an interval by a thread and logged; the oracle judges afterwards.
"""

import random
import signal
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from keel.load.workers import WorkerPool, WorkerProcess


class Fault(StrEnum):
    KILL_WORKER = "kill-worker"
    PAUSE_WORKER = "pause-worker"
    RESTART_BROKER = "restart-broker"
    REBALANCE = "rebalance"


class FaultInjector:
    """Applies one kind of fault every `every_s` seconds until stopped."""

    def __init__(
        self,
        fault: Fault,
        pool: WorkerPool,
        every_s: float,
        pause_s: float,
        restart_broker: Callable[[], None] | None = None,
    ) -> None:
        if fault is Fault.RESTART_BROKER and restart_broker is None:
            raise ValueError("restart-broker needs the local broker (no external cluster)")
        self.fault = fault
        self.events: list[str] = []
        self._pool = pool
        self._every_s = every_s
        self._pause_s = pause_s
        self._restart_broker = restart_broker
        self._rng = random.Random(7)
        self._base_workers = len(pool.running())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fault-{fault}", daemon=True)
        self._started = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self._apply()

    def _apply(self) -> None:
        running = self._pool.running()
        victim = self._rng.choice(running) if running else None
        if self.fault is Fault.KILL_WORKER and victim is not None:
            self._pool.signal(victim, signal.SIGKILL)
            replacement = self._pool.start()
            self._log(f"SIGKILL worker {victim.index}, started worker {replacement.index}")
        elif self.fault is Fault.PAUSE_WORKER and victim is not None:
            self._pool.signal(victim, signal.SIGSTOP)
            self._stop.wait(self._pause_s)
            self._pool.signal(victim, signal.SIGCONT)
            self._log(f"SIGSTOP worker {victim.index} for {self._pause_s:.0f}s, then SIGCONT")
        elif self.fault is Fault.RESTART_BROKER and self._restart_broker is not None:
            self._restart_broker()
            self._log("broker stopped and started again")
        elif self.fault is Fault.REBALANCE:
            self._rebalance(running)

    def _rebalance(self, running: list[WorkerProcess]) -> None:
        if len(running) <= self._base_workers:
            joined = self._pool.start()
            self._log(f"worker {joined.index} joined")
        else:
            leaver = running[-1]
            self._pool.signal(leaver, signal.SIGTERM)
            self._log(f"worker {leaver.index} left (SIGTERM)")

    def _log(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self._started:6.1f}s {what}")
