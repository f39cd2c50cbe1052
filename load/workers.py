"""The worker processes of a run: real `keel worker` processes, started, faulted and stopped.

Each worker is the same command a user runs (`python -m keel worker keel.load.worker:app`), with its
settings in the environment and its own health port, so the harness measures keel's real
pipeline and can ask each worker whether it is ready.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx2

from keel.deploy.local.ports import pick_free_ports

APP_TARGET = "keel.load.worker:app"
_READY_POLL_S = 0.05


@dataclass
class WorkerProcess:
    """One running worker, its health port and its output file."""

    index: int
    process: subprocess.Popen[bytes]
    health_port: int
    output: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_ready(self) -> bool:
        try:
            answer = httpx2.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=0.5)
        except httpx2.HTTPError:
            return False
        return answer.status_code == httpx2.codes.OK


class WorkerPool:
    """Starts workers with a shared environment; every worker started is stopped by `close`."""

    def __init__(self, env: Mapping[str, str], out_dir: Path) -> None:
        self._env = dict(env)
        self._out_dir = out_dir
        self.workers: list[WorkerProcess] = []
        self._started = 0

    def start(self) -> WorkerProcess:
        (port,) = pick_free_ports(1)
        index = self._started
        self._started += 1
        output = self._out_dir / f"worker-{index}.out"
        env = {**os.environ, **self._env, "KEEL_WORKER_HEALTH_PORT": str(port)}
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "keel", "worker", APP_TARGET, "--log-level", "WARNING"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(index, process, port, output)
        self.workers.append(worker)
        return worker

    def wait_ready(self, timeout_s: float) -> None:
        """Until every running worker has partitions; fails with the output of one that died."""
        deadline = time.monotonic() + timeout_s
        for worker in self.running():
            while not worker.is_ready():
                if worker.process.poll() is not None:
                    raise RuntimeError(f"worker {worker.index} exited:\n{_tail(worker.output)}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker {worker.index} not ready in {timeout_s}s")
                time.sleep(_READY_POLL_S)

    def running(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w.process.poll() is None]

    def signal(self, worker: WorkerProcess, signum: signal.Signals) -> None:
        worker.process.send_signal(signum)
        if signum is signal.SIGKILL:
            worker.process.wait()

    def close(self, grace_s: float) -> None:
        """SIGTERM every worker (they drain and commit), SIGKILL any still there after `grace_s`."""
        for worker in self.running():
            worker.process.send_signal(signal.SIGCONT)  # a paused worker cannot drain
            worker.process.terminate()
        deadline = time.monotonic() + grace_s
        for worker in self.workers:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
