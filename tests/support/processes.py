"""Worker processes started the way users start them: `keel worker module:app`."""

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.cluster import Cluster


class WorkerProcess:
    """`keel worker tests.support.apps:app` (or `app`) in a child process, logging to a file."""

    def __init__(
        self,
        cluster: Cluster,
        topic: str,
        group: str,
        output: Path,
        *,
        latency: float = 0.02,
        env: Mapping[str, str] | None = None,
        target: str = "tests.support.apps:app",
        args: Sequence[str] = (),
        **settings: str,
    ) -> None:
        """`env` is laid over the cluster's variables (credentials for a secured cluster);
        `target` is the `module:app` to run, and `args` follow it (e.g. `--processes 2`)."""
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": cluster.registry_url,
            "KEEL_WORKER_TOPICS": f'["{topic}"]',
            "KEEL_WORKER_GROUP_ID": group,
            "KEEL_WORKER_HEALTH_PORT": "0",
            "KEEL_WORKER_COMMIT_INTERVAL": "0.2",
            "KEEL_WORKER_SESSION_TIMEOUT_MS": "6000",
            "KEEL_TEST_OUTPUT": str(output),
            "KEEL_TEST_LATENCY": str(latency),
            **(env or {}),
        }
        env.update({f"KEEL_WORKER_{name.upper()}": value for name, value in settings.items()})
        self.log = output.with_suffix(f".{len(list(output.parent.glob('*.log')))}.log")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "keel", "worker", target, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


def lines(output: Path) -> list[tuple[str, int, int]]:
    """(key, seq, pid) of every finished job, in the order they finished.

    A worker may be writing while this reads: a last line without its newline is not whole
    yet, and is left for the next read.
    """
    if not output.exists():
        return []
    found = []
    for line in output.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        key, seq, pid = line.split()
        found.append((key, int(seq), int(pid)))
    return found
