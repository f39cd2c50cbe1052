"""The local schema registry: Apicurio Registry with in-memory storage, used through its
Confluent-compatible API at `/apis/ccompat/v7`. Its contents live only as long as the process.
Secured, it serves HTTPS only and asks for the super user's basic credentials (`security`)."""

import ssl
from pathlib import Path

import httpx2

from keel.deploy.local.java import JavaRuntime
from keel.deploy.local.security import SUPER_USER, LocalSecurity, write_private
from keel.deploy.local.server import ManagedServer
from keel.deploy.local.settings import LocalStackSettings


class LocalRegistry:
    """Starts, probes and stops the registry of one local stack instance."""

    def __init__(self, settings: LocalStackSettings) -> None:
        self.settings = settings
        self.home = settings.data_dir / "registry"
        self.server = ManagedServer("registry", self.home)
        self.security = LocalSecurity(settings)

    def start(self, java: JavaRuntime, distribution: Path, die_with_parent: bool = False) -> None:
        if self.server.pid() is not None:
            return
        s = self.settings
        if s.secured:
            self._write_secured_config()
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
        url = f"{self.settings.registry_url}/subjects"
        try:
            if self.settings.secured:
                password = self.security.super_user_password()
                trust = ssl.create_default_context(cafile=str(self.security.ca_file))
                response = httpx2.get(url, auth=(SUPER_USER, password), verify=trust, timeout=1)
            else:
                response = httpx2.get(url, timeout=1)
        except httpx2.HTTPError:
            return False
        return response.status_code == httpx2.codes.OK

    def _write_secured_config(self) -> None:
        # Quarkus reads config/application.properties from the working directory.
        self.security.ensure()
        config = self.home / "config"
        config.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in self.security.registry_properties().items()]
        write_private(config / "application.properties", "\n".join(lines) + "\n")
