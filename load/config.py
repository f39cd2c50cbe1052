"""What one load run does: the workload, the workers, the fault, the comparison rounds."""

from dataclasses import dataclass, field, replace
from typing import Any

from keel.load.faults import Fault
from keel.load.keys import Skew


@dataclass(frozen=True)
class RunConfig:
    """Every knob of `keel load run`; the named scenarios are presets of it."""

    scenario: str = "custom"
    jobs: int = 10_000
    rate: float = 0.0  # jobs per second the producer aims at; 0 sends as fast as it can
    keys: int = 1000
    skew: Skew = Skew.UNIFORM
    partitions: int = 12
    payload_bytes: int = 0
    sleep_ms: float = 0.0
    cpu_ms: float = 0.0
    failure_rate: float = 0.0
    poison_rate: float = 0.0
    max_in_flight: int = 500
    workers: int = 1
    rounds: int = 3  # replay rounds of keel and of the baseline, interleaved
    baseline_jobs: int = 0  # jobs per baseline round; 0: all of them
    fault: Fault | None = None
    fault_every_s: float = 3.0
    session_timeout_ms: int = 6000
    # Job status on: the workers record every job's transitions (KEEL_STATUS_TRACK=["*"]), so
    # a run with and one without measure what it costs (docs/status.md).
    status: bool = False
    # What status costs, measured in one run: each replay round also runs keel with every job's
    # status recorded, alternated with the round without, and the run reports the ratio.
    status_cost: bool = False
    drain_timeout_s: float = 120.0
    seed: int = 1
    # The latency sweep (`keel.load.sweep`): one live round per rate, each this long.
    rates: tuple[float, ...] = ()
    step_seconds: float = 60.0
    # The soak (`keel.load.soak`): how long the live round lasts, and how often it is sampled.
    duration_s: float = 0.0
    sample_every_s: float = 0.5
    # Leave the run's topics and groups on the broker when it ends (`keel.load.topics`).
    keep_topics: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **values: Any) -> "RunConfig":  # noqa: ANN401 - typer's values
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def baseline_possible(self) -> bool:
        """The baseline has no retries and no dead letters: it cannot run failures or poison."""
        return self.failure_rate == 0 and self.poison_rate == 0


SCENARIOS: dict[str, RunConfig] = {
    "noop": RunConfig(scenario="noop", jobs=50_000, rounds=3),
    "io50": RunConfig(
        scenario="io50", jobs=30_000, sleep_ms=50, rounds=2, baseline_jobs=2_400, keys=1000
    ),
    "latency": RunConfig(
        scenario="latency", rates=(500, 1_000, 2_000, 4_000, 8_000), step_seconds=60, rounds=0
    ),
    "soak": RunConfig(scenario="soak", duration_s=1800, sample_every_s=5, rounds=0),
    "poison": RunConfig(scenario="poison", jobs=10_000, poison_rate=0.01, rounds=0),
    "retries": RunConfig(scenario="retries", jobs=10_000, failure_rate=0.05, rounds=0),
    **{
        f"chaos-{fault}": RunConfig(
            scenario=f"chaos-{fault}",
            jobs=20_000,
            rate=1_500,
            sleep_ms=2,
            workers=2,
            rounds=0,
            fault=fault,
            fault_every_s=4.0,
        )
        for fault in Fault
    },
}
