"""Settings of the local Kafka broker and schema registry, read once from the environment.

Every field can be set as `KEEL_LOCAL_<FIELD>`; `JAVA_HOME` is honoured as a fallback Java.
The data and cache directories default to the platform's own (platformdirs: on Linux
`$XDG_STATE_HOME/keel/stack` and `$XDG_CACHE_HOME/keel`).
`KEEL_LOCAL_SECURITY=sasl_ssl` runs the broker secured (SASL_SSL with SCRAM-SHA-512 on
`secure_port`, ACLs enforced); the default, `plaintext`, is what `make run` uses.
Ports stay below 32768 because the kernel hands out ports above it to client sockets, and a
broker once lost its port to one of them.
"""

from pathlib import Path
from typing import Literal, Self

from platformdirs import user_cache_path, user_state_path
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel.schemas.settings import CCOMPAT_PATH, LOCAL_BROKER_PORT, LOCAL_REGISTRY_PORT

EPHEMERAL_PORT_START = 32768
SecurityMode = Literal["plaintext", "sasl_ssl"]
_DIRECTORY = "keel"  # under the platform's state and cache directories


class LocalStackSettings(BaseSettings):
    """Ports, directories, Java and memory of one local stack instance."""

    model_config = SettingsConfigDict(env_prefix="KEEL_LOCAL_", frozen=True, extra="ignore")

    broker_port: int = LOCAL_BROKER_PORT
    controller_port: int = LOCAL_BROKER_PORT + 1
    secure_port: int = LOCAL_BROKER_PORT + 2
    security: SecurityMode = "plaintext"
    registry_port: int = LOCAL_REGISTRY_PORT
    registry_management_port: int = LOCAL_REGISTRY_PORT + 1
    data_dir: Path = Field(default_factory=lambda: user_state_path(_DIRECTORY) / "stack")
    cache_dir: Path = Field(default_factory=lambda: user_cache_path(_DIRECTORY))
    java_home: Path | None = None
    system_java_home: Path | None = Field(default=None, validation_alias="JAVA_HOME")
    broker_heap_mb: int = 512
    registry_heap_mb: int = 384
    start_timeout_s: float = 90.0
    stop_timeout_s: float = 30.0

    @model_validator(mode="after")
    def _ports_are_usable(self) -> Self:
        ports = self.ports()
        if len(set(ports)) != len(ports):
            raise ValueError(f"local stack ports must differ, got {ports}")
        for port in ports:
            if not 1024 <= port < EPHEMERAL_PORT_START:
                raise ValueError(f"port {port} must be in 1024..{EPHEMERAL_PORT_START - 1}")
        return self

    def ports(self) -> tuple[int, ...]:
        return (
            self.broker_port,
            self.controller_port,
            self.secure_port,
            self.registry_port,
            self.registry_management_port,
        )

    @property
    def secured(self) -> bool:
        return self.security == "sasl_ssl"

    @property
    def bootstrap_servers(self) -> str:
        """The one client listener: the SASL_SSL one when secured, else the plain one."""
        port = self.secure_port if self.secured else self.broker_port
        return f"127.0.0.1:{port}"

    @property
    def registry_url(self) -> str:
        """The base URL of the registry's Confluent-compatible API (HTTPS when secured)."""
        scheme = "https" if self.secured else "http"
        return f"{scheme}://127.0.0.1:{self.registry_port}{CCOMPAT_PATH}"
