"""`keel dispatcher run` as a process of its own, for tests that kill it or read its endpoints."""

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cluster import Cluster


class DispatcherProcess:
    """`keel dispatcher run`, logging to a file; `env` adds settings (KEEL_DISPATCHER_...)."""

    def __init__(
        self, cluster: Cluster, delayed: str, log: Path, env: dict[str, str] | None = None
    ) -> None:
        environment = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": cluster.registry_url,
            "KEEL_DELAYED_TOPIC": delayed,
            "KEEL_DISPATCHER_SESSION_TIMEOUT_MS": "6000",
            **(env or {}),
        }
        self.log = log
        with log.open("wb") as out:
            command = [sys.executable, "-m", "keel", "dispatcher", "run"]
            self.process = subprocess.Popen(
                command, env=environment, stdout=out, stderr=subprocess.STDOUT
            )

    def leading(self) -> bool:
        text = self.log.read_text()
        return text.rfind(": leading") > text.rfind("no longer leading")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
