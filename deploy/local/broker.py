"""The local Apache Kafka broker: one KRaft node acting as broker and controller on loopback.

Storage is formatted once with a cluster id that keel records beside it; a data directory that
Kafka formatted for another cluster is refused with a clear error instead of a failed start.
The security mode is recorded beside it too: a secured broker's super user is created at format
time, so storage formatted for one mode is never started in the other.
"""

import base64
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from keel.deploy.local.errors import StackError, StaleDataDirError
from keel.deploy.local.java import JavaRuntime
from keel.deploy.local.security import LocalSecurity, write_private
from keel.deploy.local.server import ManagedServer
from keel.deploy.local.settings import LocalStackSettings, SecurityMode
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_CLUSTER_ID_FILE = "cluster.id"
_SECURITY_FILE = "security.mode"
_LOG4J = """\
status = warn
appender.file.type = Console
appender.file.name = out
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
"""


class LocalBroker:
    """Formats, starts, probes and stops the broker of one local stack instance."""

    def __init__(self, settings: LocalStackSettings) -> None:
        self.settings = settings
        self.home = settings.data_dir / "broker"
        self.server = ManagedServer("broker", self.home)
        self.security = LocalSecurity(settings)
        self._admin: AdminClient | None = None

    def properties(self) -> dict[str, str]:
        s = self.settings
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{s.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{s.broker_port},"
            f"CONTROLLER://127.0.0.1:{s.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": str(2 * 1024 * 1024),
            "auto.create.topics.enable": "false",
            **(self.security.broker_properties() if s.secured else {}),
        }

    def start(self, java: JavaRuntime, jars: Path, die_with_parent: bool = False) -> None:
        """Spawn the broker if it is not running; `wait_ready` tells when it serves requests."""
        if self.server.pid() is not None:
            return
        if self.settings.secured:
            self.security.ensure()
        self._write_config()
        self._format_once(java, jars)
        heap = f"{self.settings.broker_heap_mb}m"
        command = self._command(java, jars, "kafka.Kafka", str(self._config_path()))
        command[1:1] = [f"-Xms{heap}", f"-Xmx{heap}"]
        self.server.spawn(command, cwd=self.home, die_with_parent=die_with_parent)

    def wait_ready(self) -> None:
        self.server.wait_ready(self.is_ready, self.settings.start_timeout_s)

    def is_ready(self) -> bool:
        """A real metadata request answered by this broker, not just an open port."""
        if self._admin is None:
            cluster = ClusterSettings(kafka_bootstrap_servers=self.settings.bootstrap_servers)
            secured = self.security.client_config() if self.settings.secured else {}
            self._admin = clients.admin(cluster, {"log_level": 0, **secured})
        try:
            metadata = self._admin.list_topics(timeout=1)
        except Exception:  # any failure here only means "not yet"
            return False
        return bool(metadata.brokers)

    def _command(
        self, java: JavaRuntime, jars: Path, main_class: str, *arguments: str
    ) -> list[str]:
        return [
            str(java.executable),
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{jars}/*",
            main_class,
            *arguments,
        ]

    def _config_path(self) -> Path:
        return self.home / "server.properties"

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in self.properties().items()]
        # Private: a secured broker's configuration holds the super user's password.
        write_private(self._config_path(), "\n".join(lines) + "\n")
        (self.home / "log4j2.properties").write_text(_LOG4J)

    def _format_once(self, java: JavaRuntime, jars: Path) -> None:
        recorded = self._recorded_cluster_id()
        formatted = formatted_cluster_id(self.home / "data")
        if formatted is not None:
            if formatted != recorded:
                raise StaleDataDirError(
                    f"{self.home / 'data'} holds Kafka data of cluster {formatted}, not of this "
                    f"stack ({recorded or 'none recorded'}). Run `keel broker reset` to wipe it, "
                    f"or set KEEL_LOCAL_DATA_DIR to another directory"
                )
            self._check_security_mode()
            return
        cluster_id = recorded or new_cluster_id()
        config = str(self._config_path())
        scram = self.security.format_arguments() if self.settings.secured else []
        done = subprocess.run(
            self._command(
                java,
                jars,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                config,
                *scram,
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")
        (self.home / _CLUSTER_ID_FILE).write_text(cluster_id + "\n")
        (self.home / _SECURITY_FILE).write_text(self.settings.security + "\n")

    def recorded_security(self) -> SecurityMode | None:
        """The mode the storage was formatted for; None before the first start.

        Storage formatted before modes were recorded was formatted plain.
        """
        if not (self.home / _CLUSTER_ID_FILE).is_file():
            return None
        path = self.home / _SECURITY_FILE
        if path.is_file() and path.read_text().strip() == "sasl_ssl":
            return "sasl_ssl"
        return "plaintext"

    def _check_security_mode(self) -> None:
        recorded = self.recorded_security()
        if recorded is not None and recorded != self.settings.security:
            raise StaleDataDirError(
                f"{self.home} was formatted for a {recorded} broker, not {self.settings.security} "
                f"(a secured broker's super user is created at format time). Run `keel broker "
                f"reset` to wipe it, or set KEEL_LOCAL_DATA_DIR to another directory"
            )

    def _recorded_cluster_id(self) -> str | None:
        path = self.home / _CLUSTER_ID_FILE
        return path.read_text().strip() if path.is_file() else None


def formatted_cluster_id(log_dir: Path) -> str | None:
    """The cluster id Kafka wrote into a formatted log directory, if it is formatted."""
    meta = log_dir / "meta.properties"
    if not meta.is_file():
        return None
    for line in meta.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    return None


def new_cluster_id() -> str:
    """A Kafka cluster id: a random UUID, URL-safe base64 without padding, never starting '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text
