"""Everything a worker reads from the environment, read once into one frozen object.

Variables are prefixed `KEEL_WORKER_` (for example `KEEL_WORKER_MAX_IN_FLIGHT=200`); the cluster
and its credentials come from `keel.schemas.settings.ClusterSettings` (`KAFKA_BOOTSTRAP_SERVERS`,
`SCHEMA_REGISTRY_URL`, `KAFKA_SECURITY_PROTOCOL`, ...: docs/security.md). `consumer_config`
passes further librdkafka settings through unchanged, with their dotted names, e.g.
`KEEL_WORKER_CONSUMER_CONFIG='{"fetch.max.bytes": "1048576"}'`.
"""

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.registrations import OnExpired
from keel.consumers.telemetry.settings import TelemetrySettings
from keel.schemas.beats import BeatSettings
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.settings import StatusSettings

FETCH_WAIT_MAX_MS = 50


class WorkerSettings(BaseSettings):
    """How one worker process consumes, runs jobs, commits, and reports its health."""

    model_config = SettingsConfigDict(env_prefix="KEEL_WORKER_", frozen=True, extra="ignore")

    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    beats: BeatSettings = Field(default_factory=BeatSettings)  # KEEL_BEATS_*: keel.consumers.beats
    # Job status (KEEL_STATUS_*, docs/status.md): the topic, its retention, the tracked types.
    status: StatusSettings = Field(default_factory=StatusSettings)
    group_id: str | None = None  # default: the App's name
    topics: tuple[str, ...] = ()  # default: the topics the handled job types are routed to
    group_protocol: Literal["classic", "consumer"] = "classic"
    group_instance_id: str | None = None  # static membership, e.g. the pod name
    child: int | None = None  # this process's slot under `keel worker --processes N` (its beats)
    session_timeout_ms: int = 45_000
    max_poll_interval_ms: int = 300_000
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    # A worker whose loop did not run for this long (a freeze: SIGSTOP, GC, a stalled VM) starts
    # and settles nothing of its partitions until a commit proves it still owns them (see
    # consumers/pipeline/ownership.py). None: a third of session_timeout_ms.
    freeze_suspect_ms: int | None = Field(default=None, ge=1)

    max_in_flight: int = Field(default=500, ge=1)  # handlers running at once
    # Accepted, unfinished records, split evenly over the assigned partitions: a partition that
    # holds its share pauses alone, and resumes at the fraction buffer_low / buffer_high of it.
    buffer_high: int | None = None
    buffer_low: int | None = None
    # A job waiting for a handler slot lets at most this many others start before it (the key
    # with the most work left goes first; see consumers/pipeline/ready.py). None: twice
    # max_in_flight, i.e. about two handler durations while every slot is busy.
    max_overtakes: int | None = Field(default=None, ge=0)
    sync_threads: int = Field(default=16, ge=1)
    poll_batch: int = Field(default=500, ge=1)
    # The longest an idle poll thread waits for a record before it applies its commands
    # (commits, pauses). A record that arrives ends the wait at once (pipeline/intake.py).
    poll_timeout: float = Field(default=0.005, gt=0)

    # The cycle collector's first-generation threshold for `keel worker`
    # (see keel.consumers.collector); 700 or less leaves Python's default.
    gc_threshold: int = Field(default=10_000, ge=0)

    commit_interval: float = Field(default=1.0, gt=0)
    drain_timeout: float = Field(default=20.0, ge=0)  # on revoke
    # On SIGTERM/SIGINT, the whole way out: running jobs, commit, close, dead-letter flush
    # (keel.consumers.shutdown). The pod's grace period must exceed it by TERMINATION_MARGIN.
    shutdown_timeout: float = Field(default=30.0, gt=0)
    dead_letter_retry_max: float = Field(default=30.0, gt=0)
    # Once a job of a key is dead-lettered, park the key's later jobs until it is replayed or
    # released (docs/guarantees.md); a handler's `quarantine=` overrides this per job type.
    quarantine_keys: bool = True
    # The circuit of every job type without one of its own (`App.handler(circuit=...)`), as
    # JSON: KEEL_WORKER_CIRCUIT='{"enabled": false}' (keel.consumers.circuit_policy).
    circuit: CircuitPolicy = CircuitPolicy()
    # Priority lanes (topics T.high, T, T.low; docs/worker.md), when the worker consumes more
    # than one: `strict` holds back lower lanes while a higher one has jobs waiting, and pauses
    # them while it holds `max_in_flight` records; `weighted` lets every lane fetch and shares
    # the handler slots by `lane_weights`.
    lanes: Literal["strict", "weighted"] = "strict"
    lane_weights: tuple[int, int, int] = (8, 3, 1)  # high, default, low; each >= 1
    # Handler slots only the highest lane consumed may take, so that its job starts at once
    # while lower lanes keep the other slots busy. None: 1 (0 with max_in_flight 1).
    lane_reserve: int | None = Field(default=None, ge=0)
    # A job whose `keel-expires-at` passed before it started is dead-lettered (reason `expired`)
    # or dropped and counted; a handler's `on_expired=` overrides this per job type.
    on_expired: OnExpired = "dead-letter"

    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=8080, ge=0)  # None: no endpoint; 0: any free port
    # librdkafka reports its statistics (the per-partition consumer lag among them) this often;
    # 0 turns them off, and the lag metric with them.
    statistics_interval_ms: int = Field(default=5_000, ge=0)
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with job ids

    consumer_config: dict[str, str] = Field(default_factory=dict)
    producer_config: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _marks_in_order(self) -> "WorkerSettings":
        if self.high_water <= self.low_water:
            raise ValueError("buffer_low must be below buffer_high")
        return self

    @property
    def high_water(self) -> int:
        # Generous by default: each partition's share must hold records of most of its keys to
        # keep `max_in_flight` keys busy, and enough of each key's next jobs that a slot that
        # frees finds one (io50 replays: 8,200-8,400/s at 10x with a resume at half, 9,000-
        # 9,500/s at 20x with a resume at 80%; docs/benchmarks.md). Buffered records that
        # never started cost memory only: after a crash they run once, elsewhere.
        return self.buffer_high if self.buffer_high is not None else 20 * self.max_in_flight

    @property
    def low_water(self) -> int:
        # A partition resumes once it is down to 80% of its share: refilled early, it never
        # runs dry while librdkafka fetches its next records.
        return self.buffer_low if self.buffer_low is not None else self.high_water * 4 // 5

    @property
    def suspect_after(self) -> float:
        """Seconds without running after which the partitions may be lost (`freeze_suspect_ms`)."""
        ms = self.freeze_suspect_ms
        return (ms if ms is not None else self.session_timeout_ms // 3) / 1000

    @property
    def overtakes(self) -> int:
        return self.max_overtakes if self.max_overtakes is not None else 2 * self.max_in_flight

    def to_confluent(self, group_id: str) -> dict[str, str | int | bool]:
        """The worker consumer's own librdkafka keys, laid over the cluster's by `clients`."""
        config: dict[str, str | int | bool] = {
            "group.id": group_id,
            "group.protocol": self.group_protocol,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": self.auto_offset_reset,
            "max.poll.interval.ms": self.max_poll_interval_ms,
            "statistics.interval.ms": self.statistics_interval_ms,
            # A partition resumed by flow control is fetched only once the fetch in flight
            # returns; at the end of the log that is a long poll of up to this long (librdkafka's
            # default is 500 ms, during which the partition's keys had nothing to run).
            "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
        }
        if self.group_protocol == "classic":
            # The server-side assignor of the `consumer` protocol refuses these keys.
            config["partition.assignment.strategy"] = "cooperative-sticky"
            config["session.timeout.ms"] = self.session_timeout_ms
        if self.group_instance_id:
            config["group.instance.id"] = self.group_instance_id
        config.update(self.consumer_config)
        return config

    def dead_letter_producer_config(self) -> dict[str, str | int | bool]:
        """The dead-letter producer's own keys: idempotent, acknowledged by all in-sync replicas."""
        config: dict[str, str | int | bool] = {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # A poison value may be as large as the broker allows, plus our headers.
            "message.max.bytes": 4 * 1024 * 1024,
        }
        config.update(self.producer_config)
        return config
