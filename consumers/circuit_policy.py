"""The circuit breaker of a job type, as data: when an outage stops its jobs from burning attempts.

    @app.handler(ChargeCard, circuit=CircuitPolicy(min_jobs=10, probe_interval=2.0))

A poison job fails alone; an outage of what a job type calls (a payment gateway, an SMTP relay)
fails most of its jobs at once. The worker tells the two apart by the share of a type's attempts
that failed with a retryable error within the last `window` seconds: once at least
`min_attempts` attempts of at least `min_jobs` different jobs were seen there and `failure_ratio`
of them failed, the circuit of the type OPENS. Its jobs then wait with their attempts intact
until one probe job succeeds (see `keel.consumers.pipeline.circuit` for the state machine and
docs/worker.md for what waits where).

`CircuitPolicy(enabled=False)` turns it off for a type; `KEEL_WORKER_CIRCUIT` sets the worker's
default for every type without one of its own, e.g. `KEEL_WORKER_CIRCUIT='{"enabled": false}'`.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """When a job type's failures count as an outage, and how often a probe tries it again."""

    enabled: bool = True
    window: float = 30.0  # seconds of attempts the decision looks at
    failure_ratio: float = 0.5  # the share of them that failed with a retryable error
    min_attempts: int = 20  # fewer attempts than this in the window never open it
    min_jobs: int = 5  # nor failures of fewer different jobs: one poison job cannot open it
    probe_interval: float = 5.0  # open this long before the first probe
    probe_interval_max: float = 60.0  # each failed probe doubles the wait, up to this

    def __post_init__(self) -> None:
        if self.window <= 0:
            raise ValueError("window must be positive")
        if not 0 < self.failure_ratio <= 1:
            raise ValueError("failure_ratio must be in (0, 1]")
        if self.min_attempts < 1 or self.min_jobs < 1:
            raise ValueError("min_attempts and min_jobs must be at least 1")
        if not 0 < self.probe_interval <= self.probe_interval_max:
            raise ValueError("need 0 < probe_interval <= probe_interval_max")
