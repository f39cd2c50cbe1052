"""Where job statuses are kept and which job types have one: `KEEL_STATUS_*`, read once.

Publishers, workers and `keel jobs status` read the same variables, so a publisher writes
`queued` for exactly the types whose workers write the rest. A job type is tracked when its
model says so (`keel_status = True`, or a `keel_result` model) or when its name is listed in
`KEEL_STATUS_TRACK` (`'["*"]'` tracks every type: the worker-wide switch).
"""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel.schemas.job import Job

DAY_MS = 86_400_000
EVERY_TYPE = "*"


class StatusSettings(BaseSettings):
    """The status topic, how long it keeps a job's status, and how a lookup reads it."""

    model_config = SettingsConfigDict(env_prefix="KEEL_STATUS_", frozen=True, extra="ignore")

    topic: str = Field(default="keel.status", pattern=r"^[A-Za-z0-9._-]{1,249}$")
    partitions: int = Field(default=6, ge=1)
    # Like arq's keep_result: a status (and its result) is deleted this long after it was
    # written, compacted or not (`cleanup.policy=compact,delete`).
    retention_ms: int = Field(default=DAY_MS, ge=60_000)
    # Job types tracked besides those whose model declares it; "*" tracks every type.
    track: tuple[str, ...] = ()
    # Statuses are batched for this long before they are sent: off the hot path, never awaited.
    linger_ms: int = Field(default=100, ge=0)
    # A lookup starts reading this long before the time inside the job id (UUIDv7), for the
    # clocks of publishers, workers and brokers that disagree.
    lookback_ms: int = Field(default=60_000, ge=0)

    def topic_config(self) -> dict[str, str]:
        """The status topic's settings: compacted by job id, and deleted after the retention."""
        return {"cleanup.policy": "compact,delete", "retention.ms": str(self.retention_ms)}


def is_tracked(model: type[Job], name: str, settings: StatusSettings) -> bool:
    """Whether jobs of `model` (whose Avro full name is `name`) get a status."""
    if model.keel_status or model.keel_result is not None:
        return True
    return name in settings.track or EVERY_TYPE in settings.track
