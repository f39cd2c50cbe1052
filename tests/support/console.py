"""`keel console` in a child process, the way an operator starts it, on a port below 32768.

The port is picked free below the kernel's ephemeral range (keel.deploy.local.ports), so no
client socket of the test can take it between the pick and the console's bind.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from keel.deploy.local.ports import pick_free_ports
from tests.support.cluster import Cluster

OPERATOR, READER = "operator", "read"


class ConsoleProcess:
    """The console on 127.0.0.1:`port`, with one operator token and one read-only token."""

    def __init__(
        self, cluster: Cluster, log: Path, delayed_topic: str, status_topic: str = "keel.status"
    ) -> None:
        """`delayed_topic` is where the console looks for pending delayed jobs, `status_topic`
        where it looks up job statuses."""
        self.delayed_topic = delayed_topic
        self.status_topic = status_topic
        self.port = pick_free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens = {role: secrets.token_urlsafe(24) for role in (OPERATOR, READER)}
        self.log = log
        tokens = {
            f"{role}-user": {"token": token, "role": role} for role, token in self.tokens.items()
        }
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": cluster.registry_url,
            "KEEL_CONSOLE_TOKENS": json.dumps(tokens),
            "KEEL_DELAYED_TOPIC": delayed_topic,
            "KEEL_STATUS_TOPIC": status_topic,
        }
        command = [sys.executable, "-m", "keel", "console", "--host", "127.0.0.1"]
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once the console answers HTTP; fail with its log if it exits or never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"keel console exited:\n{self.log.read_text()}")
            try:
                httpx.get(f"{self.url}/login", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
            else:
                return
        raise AssertionError(f"keel console not up after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
