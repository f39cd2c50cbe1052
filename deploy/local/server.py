"""One background JVM server: spawn it detached, know whether it runs, wait for it, stop it.

The pid file alone is not trusted: a pid is only ours if that process's command line carries
this instance's marker, so a recycled pid never gets a SIGTERM from us.
"""

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from keel.deploy.local.errors import ServerStartError

_POLL_S = 0.1
_LOG_TAIL_LINES = 25
_PR_SET_PDEATHSIG = 1


class ManagedServer:
    """A named server whose pid and log live in one instance directory."""

    def __init__(self, name: str, home: Path) -> None:
        self.name = name
        self.home = home
        self.pid_file = home / f"{name}.pid"
        self.log_file = home / f"{name}.log"
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def marker(self) -> str:
        """A JVM system property that names this server and instance on its command line."""
        return f"-Dkeel.server={self.name}@{self.home}"

    def pid(self) -> int | None:
        """The pid of this server if it is running, else None (and a stale pid file is removed)."""
        if not self.pid_file.is_file():
            return None
        pid = int(self.pid_file.read_text().strip() or 0)
        if self._is_ours(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        self._reap()
        return None

    def spawn(self, command: Sequence[str], cwd: Path, die_with_parent: bool = False) -> int:
        """Start the server detached; with `die_with_parent` it gets SIGTERM when we exit.

        A daemon for `keel broker start` must outlive the command; a test session's servers
        must not outlive a test run that crashed before its teardown.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [command[0], self.marker, *command[1:]],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_terminate_with_parent if die_with_parent else None,  # noqa: PLW1509
            )
        self.pid_file.write_text(f"{process.pid}\n")
        self._child = process
        return process.pid

    def wait_ready(self, is_ready: Callable[[], bool], timeout_s: float) -> None:
        """Return once `is_ready()` holds; raise with the log's tail if the server dies or hangs."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise ServerStartError(f"the {self.name} exited during start\n{self.log_tail()}")
            if is_ready():
                return
            time.sleep(_POLL_S)
        raise ServerStartError(
            f"the {self.name} was not ready after {timeout_s:.0f}s\n{self.log_tail()}"
        )

    def stop(self, timeout_s: float) -> bool:
        """SIGTERM, wait, SIGKILL if it must; True if a process was stopped."""
        pid = self.pid()
        if pid is None:
            self._reap()
            return False
        process = psutil.Process(pid)
        process.terminate()
        try:
            process.wait(timeout_s)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)
        self.pid_file.unlink(missing_ok=True)
        self._reap()
        return True

    def _reap(self) -> None:
        # When this process spawned the server, collect its exit status, so neither a zombie
        # nor an unreaped Popen outlives it.
        if self._child is not None:
            self._child.poll()
            self._child = None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        if not self.log_file.is_file():
            return f"(no log at {self.log_file})"
        text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return f"last {len(text)} lines of {self.log_file}:\n" + "\n".join(text)

    def _is_ours(self, pid: int) -> bool:
        if self._child is not None and self._child.pid == pid:
            # Our own child is ours until it exits, even before it has exec'd the JVM and so
            # before its command line carries the marker (a stop right after a spawn).
            return self._child.poll() is None
        try:
            process = psutil.Process(pid)
            return process.status() != psutil.STATUS_ZOMBIE and self.marker in process.cmdline()
        except psutil.Error:
            return False


def _terminate_with_parent() -> None:
    """In the child before exec: ask Linux to send SIGTERM when the parent goes away."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
