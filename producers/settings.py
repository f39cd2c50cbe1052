"""How a service publishes: where each job type goes, and the producer's delivery guarantees.

Read once from the environment (prefix `KEEL_`), like Celery's `task_routes`: `KEEL_ROUTES` is
JSON mapping an Avro full name to a topic and its partition count, e.g.
`{"keel.jobs.SendEmail": {"topic": "jobs.email", "partitions": 12}}`. Several job types may share
a topic, so that jobs of one entity stay in order across types. There are no default routes: a
service names its own topics, and the demo's live with the demo (`keel.producers.demo`). The
delivery defaults are the safe ones: idempotent, acknowledged by all in-sync replicas,
lz4-compressed. `linger_ms` is 0: a job leaves as soon as librdkafka's thread can send it
(batches still form while earlier requests are in flight), because its latency is what a
service feels first; measured against 1 and 5 in docs/benchmarks.md (`linger.ms`).
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel.producers.errors import NoRouteError
from keel.schemas.lanes import LANES, Lane, lane_topic
from keel.schemas.status.settings import StatusSettings

Compatibility = Literal[
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
]


class Route(BaseModel):
    """Where one job type is published."""

    model_config = ConfigDict(frozen=True)

    topic: str = Field(min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=12, ge=1)
    # Priority lanes (docs/scheduling.md): the lane of a job published with no `priority=`, and
    # the further lanes its topic has for publishes that name one (`T.high`, `T`, `T.low`).
    priority: Lane = "default"
    lanes: tuple[Lane, ...] = ()
    # An ordered job type keeps per-key order only within a lane, so it refuses `priority=`
    # unless this allows it.
    priority_per_publish: bool = False

    def lane_topics(self) -> dict[Lane, str]:
        """Each lane this route has (its own and `lanes`), highest first, with its topic."""
        have = {self.priority, *self.lanes}
        return {lane: lane_topic(self.topic, lane) for lane in LANES if lane in have}


# What a command that needs routes says when there are none.
NO_ROUTES = (
    "no routes: KEEL_ROUTES is unset or empty, so there are no job topics. Set it to JSON that "
    "maps each job type to its topic, e.g. "
    """KEEL_ROUTES='{"myservice.jobs.SendInvoice": {"topic": "invoices", "partitions": 6}}'"""
)


class ProducerSettings(BaseSettings):
    """Routing, schema registration and librdkafka settings of a publisher."""

    model_config = SettingsConfigDict(env_prefix="KEEL_", frozen=True, extra="ignore")

    routes: dict[str, Route] = Field(default_factory=dict)
    acks: Literal["all", "1", "0"] = "all"
    enable_idempotence: bool = True
    compression_type: Literal["lz4", "zstd", "snappy", "gzip", "none"] = "lz4"
    linger_ms: int = Field(default=0, ge=0)  # KEEL_LINGER_MS=5 batches more for bulk producers
    # How long a job may wait for the broker before `publish` gives up with an error. Kept well
    # under librdkafka's 5-minute default: a web request should fail, not hang.
    delivery_timeout_ms: int = Field(default=30_000, ge=1)
    # How long opening a publisher waits for a broker connection and the routed topics'
    # metadata (keel.producers.readiness); 0 opens without waiting, as before.
    open_timeout_ms: int = Field(default=10_000, ge=0)
    # Register a schema the first time it is used; set False where CI registers them.
    auto_register_schemas: bool = True
    # Registry compatibility per subject (`{topic}-{full name}`), BACKWARD where not named.
    compatibility: dict[str, Compatibility] = Field(default_factory=dict)
    default_compatibility: Compatibility = "BACKWARD"
    # -1 lets the broker choose (its default.replication.factor).
    replication_factor: int = -1
    # Any other librdkafka producer setting, by its dotted name.
    librdkafka: dict[str, str | int | float | bool] = Field(default_factory=dict)
    # Delayed jobs (docs/scheduling.md): the topic they wait in until the dispatcher releases
    # them, and the longest delay accepted (30 days; at most the 97 days its tiers can hold).
    delayed_topic: str = Field(default="keel.delayed", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    max_delay_s: float = Field(default=30 * 86_400, gt=0, le=97 * 86_400)
    # Job status (KEEL_STATUS_*): which types get a `queued` status when published.
    status: StatusSettings = Field(default_factory=StatusSettings)

    def route(self, job_type: str) -> Route:
        """The route of a job type; raises `NoRouteError` for one without."""
        try:
            return self.routes[job_type]
        except KeyError:
            raise NoRouteError(f"no route for {job_type}: add it to KEEL_ROUTES") from None

    def topics(self) -> dict[str, int]:
        """Every job topic (lane topics included) with the partitions it needs (the most any
        route sharing it asks)."""
        topics: dict[str, int] = {}
        for route in self.routes.values():
            for topic in route.lane_topics().values():
                topics[topic] = max(route.partitions, topics.get(topic, 0))
        return topics

    def compatibility_of(self, subject: str) -> Compatibility:
        return self.compatibility.get(subject, self.default_compatibility)

    def to_confluent(self) -> dict[str, Any]:
        """The producer's own librdkafka keys, laid over the cluster's (`keel.schemas.clients`)."""
        return {
            "acks": self.acks,
            "enable.idempotence": self.enable_idempotence,
            "compression.type": self.compression_type,
            "linger.ms": self.linger_ms,
            "delivery.timeout.ms": self.delivery_timeout_ms,
            **self.librdkafka,
        }


class SchedulerSettings(BaseSettings):
    """How a scheduler process elects its leader and waits (prefix `KEEL_SCHEDULER_`).

    A standby takes over within about `session_timeout_ms` of a leader that died without
    leaving the group (one that stops cleanly hands over at once).
    """

    model_config = SettingsConfigDict(env_prefix="KEEL_SCHEDULER_", frozen=True, extra="ignore")

    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    # Longest sleep between looks at the clock and the group; fires are never later than this.
    tick_s: float = Field(default=0.5, gt=0)
    transaction_timeout_ms: int = Field(default=60_000, ge=1_000)
    # librdkafka consumer settings of the group that elects the leader, by dotted name.
    librdkafka: dict[str, str | int | float | bool] = Field(default_factory=dict)
