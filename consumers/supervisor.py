"""`keel worker --processes N`: N worker processes of one app in one consumer group.

One Python process runs one core's worth of handlers; a CPU-bound app needs more processes to
use more cores. The parent runs no jobs: it starts N children, each an ordinary `keel worker`
in the same consumer group (the broker spreads the partitions over them, and per-key order
holds as it does across pods), and looks after them:

- A child that exits without being asked to is started again after a backoff that doubles with
  each quick death (0.5 s, 1 s, 2 s ... up to 30 s) and starts over once a child has run for a
  minute, so a crash loop does not spin while a one-off crash costs half a second.
- SIGTERM or SIGINT to the parent is passed to every child, which drains as a single worker
  does; the parent waits `shutdown_bound(settings)` for them, then kills what is left.
- Health and metrics: one endpoint for the pod, on the usual port (`telemetry.pod_health`).
- Logs: every child's lines carry its index (`telemetry.child_logs`).

Children are plain subprocesses (`python -m keel worker TARGET --child I`): each imports the app
afresh, as a pod restart would, and nothing is shared but the environment. If the parent itself
is killed with SIGKILL its children are not told; in a container they end with it.
"""

import asyncio
import logging
import signal
import socket
import sys
import time

from keel.consumers.settings import WorkerSettings
from keel.consumers.telemetry.health import HealthServer
from keel.consumers.telemetry.pod_health import ChildState, PodHealth
from keel.consumers.telemetry.prometheus import CONTENT_TYPE

_LOG = logging.getLogger(__name__)
FIRST_RESTART_DELAY_S = 0.5
MAX_RESTART_DELAY_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long died of something new: back off from the start
# A child holds itself to `shutdown_timeout` (its watchdog ends it there); this is the time for
# that exit to be seen, well inside the pod's `TERMINATION_MARGIN` beyond the same bound.
CLOSE_MARGIN_S = 5.0


def shutdown_bound(settings: WorkerSettings) -> float:
    """How long a child may take to stop after SIGTERM: its whole way out, then being reaped."""
    return settings.shutdown_timeout + CLOSE_MARGIN_S


def restart_delay(quick_deaths: int) -> float:
    """The wait before starting a child again after its `quick_deaths`-th death in a row."""
    return float(min(MAX_RESTART_DELAY_S, FIRST_RESTART_DELAY_S * 2 ** max(quick_deaths - 1, 0)))


def child_command(target: str, index: int, health_port: int, log_level: str) -> list[str]:
    """The command line of child `index`: an ordinary worker, told its slot and health port."""
    return [
        sys.executable,
        *("-m", "keel", "worker", target),
        *("--child", str(index), "--child-health-port", str(health_port)),
        *("--log-level", log_level),
    ]


def child_settings(settings: WorkerSettings, index: int, health_port: int | None) -> WorkerSettings:
    """Child `index`'s settings: health on loopback only, where the supervisor polls it, and a
    static membership id of its own (the broker fences a second member with the same id)."""
    update: dict[str, object] = {
        "health_host": "127.0.0.1",
        "health_port": health_port,
        "child": index,
    }
    if settings.group_instance_id is not None:
        update["group_instance_id"] = f"{settings.group_instance_id}-{index}"
    return settings.model_copy(update=update)


def free_port() -> int:
    """A loopback port nobody listens on now (kept by the child across its restarts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Supervisor:
    """Starts, restarts and stops the worker processes of one app."""

    def __init__(
        self, target: str, processes: int, settings: WorkerSettings, log_level: str = "INFO"
    ) -> None:
        self._target = target
        self._settings = settings
        self._log_level = log_level
        self.children = [ChildState(index, free_port()) for index in range(processes)]
        self.health = PodHealth(self.children)

    async def run(self, stop: asyncio.Event) -> int:
        """Run the children until `stop` is set; 0 when every child then exited cleanly."""
        server = HealthServer(self.health.live, self.health.ready, self.health.render, CONTENT_TYPE)
        if self._settings.health_port is not None:
            await server.start(self._settings.health_host, self._settings.health_port)
        polling = asyncio.create_task(self.health.run(stop), name="keel-pod-health")
        keepers = [asyncio.create_task(self._keep(child, stop)) for child in self.children]
        try:
            codes = await asyncio.gather(*keepers)
        except Exception:
            stop.set()  # one keeper failed (a child could not be started): drain the others
            await asyncio.wait(keepers)
            raise
        finally:
            await polling
            await server.close()
        _LOG.info("every worker process stopped: exit codes %s", codes)
        return 0 if all(code == 0 for code in codes) else 1

    async def _keep(self, child: ChildState, stop: asyncio.Event) -> int:
        """Keep child `child` running until `stop`; returns its last exit code."""
        quick_deaths = 0
        while True:
            started = time.monotonic()
            process = await self._start(child)
            stopping = asyncio.create_task(stop.wait())
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                return await self._drain(child, process)
            stopping.cancel()
            child.gone()
            ran = time.monotonic() - started
            quick_deaths = 0 if ran >= STABLE_AFTER_S else quick_deaths + 1
            delay = restart_delay(quick_deaths)
            _LOG.warning(
                "worker process %d (pid %d) exited with %s after %.1f s; restarting in %.1f s",
                *(child.index, process.pid, process.returncode, ran, delay),
            )
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                child.restarts += 1
                continue
            return 0  # asked to stop while waiting to restart: nothing runs

    async def _start(self, child: ChildState) -> asyncio.subprocess.Process:
        command = child_command(self._target, child.index, child.port, self._log_level)
        process = await asyncio.create_subprocess_exec(*command)
        child.pid = process.pid
        child.live_at = time.monotonic()
        _LOG.info("worker process %d started: pid %d", child.index, process.pid)
        return process

    async def _drain(self, child: ChildState, process: asyncio.subprocess.Process) -> int:
        bound = shutdown_bound(self._settings)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(process.wait(), bound)
        except TimeoutError:
            _LOG.error(
                "worker process %d still running %.0f s after SIGTERM: killed", child.index, bound
            )
            process.kill()
            code = await process.wait()
        child.gone()
        return code


def supervise(target: str, processes: int, settings: WorkerSettings, log_level: str) -> int:
    """Run `processes` workers of `target` until SIGTERM or SIGINT; the exit status."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        return await Supervisor(target, processes, settings, log_level).run(stop)

    return asyncio.run(main())
