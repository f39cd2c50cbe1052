"""The local stack: the broker and the registry started, probed and stopped together.

Both servers are spawned before either is waited on, so a warm start costs the slower of the
two, not their sum. A start that fails stops whatever it spawned, so it never leaves half a
stack behind.
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keel.deploy.local.apicurio import LocalRegistry
from keel.deploy.local.artifacts import apicurio_home, kafka_jars
from keel.deploy.local.broker import LocalBroker
from keel.deploy.local.java import find_java
from keel.deploy.local.ports import pick_free_ports, require_free
from keel.deploy.local.server import ManagedServer
from keel.deploy.local.settings import LocalStackSettings, SecurityMode


@dataclass(frozen=True)
class ServerStatus:
    """What `keel broker status` reports for one server."""

    name: str
    pid: int | None
    ready: bool
    endpoint: str
    log_file: Path


class LocalStack:
    """One instance of broker plus registry, identified by its data directory."""

    def __init__(self, settings: LocalStackSettings, die_with_parent: bool = False) -> None:
        """`die_with_parent`: the servers stop when this process exits (for test sessions)."""
        self.settings = settings
        self.die_with_parent = die_with_parent
        self.broker = LocalBroker(settings)
        self.registry = LocalRegistry(settings)

    def servers(self) -> dict[str, ManagedServer]:
        return {"broker": self.broker.server, "registry": self.registry.server}

    def start(self) -> list[ServerStatus]:
        """Start whatever is not running and wait until both answer real requests."""
        java = find_java(self.settings)
        jars = kafka_jars(self.settings.cache_dir)
        distribution = apicurio_home(self.settings.cache_dir)
        self._check_ports()
        spawned: list[ManagedServer] = []
        try:
            if self.broker.server.pid() is None:
                self.broker.start(java, jars, self.die_with_parent)
                spawned.append(self.broker.server)
            if self.registry.server.pid() is None:
                self.registry.start(java, distribution, self.die_with_parent)
                spawned.append(self.registry.server)
            self.broker.wait_ready()
            self.registry.wait_ready()
        except BaseException:
            for server in spawned:
                server.stop(self.settings.stop_timeout_s)
            raise
        return self.status()

    def stop(self) -> list[str]:
        """Stop both servers; the names of those that were running."""
        stopped = []
        for name, server in reversed(self.servers().items()):
            if server.stop(self.settings.stop_timeout_s):
                stopped.append(name)
        return stopped

    def restart_broker(self) -> list[ServerStatus]:
        """Stop the broker (SIGTERM, so it shuts down as in a rolling restart) and start it again.

        The registry keeps running; clients see the broker go away and come back.
        """
        self.broker.server.stop(self.settings.stop_timeout_s)
        return self.start()

    def reset(self) -> None:
        """Stop both servers and delete this instance's data directory."""
        self.stop()
        shutil.rmtree(self.settings.data_dir, ignore_errors=True)

    def status(self) -> list[ServerStatus]:
        broker_pid = self.broker.server.pid()
        registry_pid = self.registry.server.pid()
        return [
            ServerStatus(
                "broker",
                broker_pid,
                broker_pid is not None and self.broker.is_ready(),
                self.settings.bootstrap_servers,
                self.broker.server.log_file,
            ),
            ServerStatus(
                "registry",
                registry_pid,
                registry_pid is not None and self.registry.is_ready(),
                self.settings.registry_url,
                self.registry.server.log_file,
            ),
        ]

    def _check_ports(self) -> None:
        s = self.settings
        if self.broker.server.pid() is None:
            if not s.secured:
                require_free(s.broker_port, "Kafka broker")
            require_free(s.controller_port, "Kafka controller")
            if s.secured:
                require_free(s.secure_port, "Kafka SASL_SSL listener")
        if self.registry.server.pid() is None:
            require_free(s.registry_port, "schema registry HTTP")
            require_free(s.registry_management_port, "schema registry management")


@contextmanager
def private_stack(data_dir: Path, security: SecurityMode = "plaintext") -> Iterator[LocalStack]:
    """A stack of its own on free ports, for a test session or a benchmark: started, and
    stopped however the block ends (or, should this process die first, with it)."""
    broker, controller, secure, registry, management = pick_free_ports(5)
    settings = LocalStackSettings(
        broker_port=broker,
        controller_port=controller,
        secure_port=secure,
        security=security,
        registry_port=registry,
        registry_management_port=management,
        data_dir=data_dir,
    )
    stack = LocalStack(settings, die_with_parent=True)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
