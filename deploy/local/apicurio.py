"""The local schema registry: Apicurio Registry with in-memory storage, used through its
Confluent-compatible API at `/apis/ccompat/v7`. Its contents live only as long as the process."""

from pathlib import Path

import httpx2

from keel.deploy.local.java import JavaRuntime
from keel.deploy.local.server import ManagedServer
from keel.deploy.local.settings import LocalStackSettings


class LocalRegistry:
    """Starts, probes and stops the registry of one local stack instance."""

    def __init__(self, settings: LocalStackSettings) -> None:
        self.settings = settings
        self.home = settings.data_dir / "registry"
        self.server = ManagedServer("registry", self.home)

    def start(self, java: JavaRuntime, distribution: Path, die_with_parent: bool = False) -> None:
        if self.server.pid() is not None:
            return
        s = self.settings
        command = [
            str(java.executable),
            f"-Xmx{s.registry_heap_mb}m",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={s.registry_port}",
            "-Dquarkus.management.host=127.0.0.1",
            f"-Dquarkus.management.port={s.registry_management_port}",
            "-Dapicurio.storage.kind=sql",
            "-Dapicurio.storage.sql.kind=h2",
            "-jar",
            str(distribution / "quarkus-run.jar"),
        ]
        self.server.spawn(command, cwd=self.home, die_with_parent=die_with_parent)

    def wait_ready(self) -> None:
        self.server.wait_ready(self.is_ready, self.settings.start_timeout_s)

    def is_ready(self) -> bool:
        try:
            response = httpx2.get(f"{self.settings.registry_url}/subjects", timeout=1)
        except httpx2.HTTPError:
            return False
        return response.status_code == httpx2.codes.OK
