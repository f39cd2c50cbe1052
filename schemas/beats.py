"""Where workers publish their heartbeats, and how often: one setting shared by every side.

Each worker process writes a small record every `interval` seconds to one compacted topic
(`KEEL_BEATS_TOPIC`, default `keel.workers`), keyed by the worker's id, and a tombstone when it
stops cleanly (keel.consumers.beats). The worker, `keel topics ensure`, `keel workers` and the
console all read these settings, so the topic is named once.

    KEEL_BEATS_ENABLED=false      a worker publishes no beats
    KEEL_BEATS_TOPIC=ops.workers  another topic
    KEEL_BEATS_INTERVAL=5         seconds between two beats of one worker
    KEEL_BEATS_GONE_AFTER=3       a worker silent for this many intervals is `gone` (crashed)
    KEEL_BEATS_FORGET_AFTER=60    ... and after this many, no longer shown at all
"""

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TOPIC = "keel.workers"
# Compacted: the topic holds about one record per live worker. Compact soon, since a reader
# reads it whole; a tombstone stays a day so a reader that was away still sees the worker leave.
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
    "delete.retention.ms": "86400000",
}
TOPIC_PARTITIONS = 1  # a few hundred workers' beats every few seconds: one partition is plenty


class BeatSettings(BaseSettings):
    """Whether and where workers publish heartbeats, and when a silent one counts as gone."""

    model_config = SettingsConfigDict(env_prefix="KEEL_BEATS_", frozen=True, extra="ignore")

    enabled: bool = True
    topic: str = DEFAULT_TOPIC
    interval: float = Field(default=5.0, gt=0)
    gone_after: float = Field(default=3.0, gt=1)  # intervals without a beat
    forget_after: float = Field(default=60.0, gt=1)  # intervals without a beat

    @model_validator(mode="after")
    def _forget_after_gone(self) -> "BeatSettings":
        if self.forget_after <= self.gone_after:
            raise ValueError("forget_after must exceed gone_after")
        return self
