"""How a dispatcher elects its leader and batches its work (prefix `KEEL_DISPATCHER_`).

The delayed topic and the longest delay are the publishers' settings too, so they live in
`ProducerSettings` (`KEEL_DELAYED_TOPIC`, `KEEL_MAX_DELAY_S`).
"""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DispatcherSettings(BaseSettings):
    """A standby takes over within about `session_timeout_ms` of a leader that died."""

    model_config = SettingsConfigDict(env_prefix="KEEL_DISPATCHER_", frozen=True, extra="ignore")

    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    # Longest wait for records or the group between two looks at the clock.
    tick_s: float = Field(default=0.2, gt=0)
    transaction_timeout_ms: int = Field(default=60_000, ge=1_000)
    # Most records released or refiled in one transaction.
    # Larger batches mean fewer commits: each is two round trips (offsets, then commit),
    # which bounded the dispatcher at 2,000 (docs/scheduling.md, Measured).
    batch: int = Field(default=20_000, ge=1)
    # Records read ahead behind the tiers' first records, all tiers together, before a tier
    # is paused: with the batch and the prefetch below, what bounds the dispatcher's memory
    # (docs/scheduling.md, Memory).
    read_ahead: int = Field(default=20_000, ge=2)
    # What librdkafka may prefetch of the delayed topic: with one record held per tier, this
    # is what bounds the dispatcher's memory, whatever the number of pending jobs.
    prefetch_kbytes: int = Field(default=4_096, ge=64)
    # /livez, /readyz and /metrics (health.py): off unless a port is set (0: any free port);
    # the Kubernetes component sets 8080 on 0.0.0.0.
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=None, ge=0)
    # librdkafka consumer settings of the group that elects the leader, by dotted name.
    librdkafka: dict[str, str | int | float | bool] = Field(default_factory=dict)
