"""The circuit of one job type: the pure state machine that tells an outage from poison.

    CLOSED ──failures correlated──▶ OPEN ──probe_interval──▶ HALF_OPEN ──probe ok──▶ CLOSED
                                     ▲                           │
                                     └──probe failed (wait x2)───┘

CLOSED counts the type's attempts in a sliding window of `policy.window` seconds, kept as ten
buckets of a tenth each (so the window reaches 9/10 to 10/10 of that back): per bucket the
attempts and those that failed with a retryable error, and for each failing job the bucket of
its latest failure. A failure opens the circuit when the window holds at least `min_attempts`
attempts, failures of at least `min_jobs` different jobs, and a failed share of at least
`failure_ratio`: a single poison job, however often it is retried, is one job and never opens
it. While OPEN, nothing is counted; after `delay` seconds one probe may run (HALF_OPEN). Its
success closes the circuit with an empty window and the first delay again; its failure opens
it again for twice the delay, up to `probe_interval_max`.

Nothing here reads a clock or touches a job: every call is given `now` (seconds, any monotonic
origin), and which job is the probe is the caller's business (`pipeline.holds`, which also
hands successes over in batches, so that a job costs the engine no call here).
"""

from collections.abc import Hashable
from dataclasses import dataclass

from keel.consumers.circuit_policy import CircuitPolicy

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)

_BUCKETS = 10


@dataclass(frozen=True, slots=True)
class Change:
    """A circuit moved to `state`; `reason` says why, in words for the log line."""

    state: str
    reason: str
    probe_in: float | None = None  # seconds until the next probe, once open


class Breaker:
    """Counts a job type's attempts while closed; decides when to open, probe and close."""

    __slots__ = (
        "_attempts",
        "_epoch",
        "_failing",
        "_failures",
        "_roll_at",
        "_slot",
        "_width",
        "delay",
        "policy",
        "state",
    )

    def __init__(self, policy: CircuitPolicy, now: float = 0.0) -> None:
        self.policy = policy
        self.state = CLOSED
        self.delay = policy.probe_interval  # how long the next OPEN lasts before a probe
        self._width = policy.window / _BUCKETS
        self._attempts = [0] * _BUCKETS
        self._slot = 0  # the bucket of now, until `_roll_at`
        self._roll_at = 0.0
        self._failures = [0] * _BUCKETS
        self._failing: dict[Hashable, int] = {}  # job -> the bucket of its latest failure
        self._epoch = 0
        self._restart(now)

    def succeeded(self, now: float, count: int = 1) -> None:
        """`count` attempts of the closed circuit's type succeeded (lately, counted at `now`)."""
        if now >= self._roll_at:
            self._roll(now)
        self._attempts[self._slot] += count

    def failed(self, now: float, job: Hashable) -> Change | None:
        """An attempt of `job` failed with a retryable error; a Change when that opens it."""
        if now >= self._roll_at:
            self._roll(now)
        self._attempts[self._slot] += 1
        self._failures[self._slot] += 1
        self._failing[job] = self._epoch
        return self._trip()

    def probe_due(self) -> Change:
        """The open circuit has waited `delay`: one probe may run."""
        self.state = HALF_OPEN
        return Change(HALF_OPEN, f"{self.delay:g}s passed, one job probes")

    def probe_succeeded(self, now: float) -> Change:
        """The probe succeeded: the type's jobs run again, counted afresh."""
        self.state = CLOSED
        self.delay = self.policy.probe_interval
        self._restart(now)
        return Change(CLOSED, "the probe succeeded")

    def probe_failed(self) -> Change:
        """The probe failed: open again, for twice as long (up to `probe_interval_max`)."""
        self.state = OPEN
        self.delay = min(2 * self.delay, self.policy.probe_interval_max)
        return Change(OPEN, "the probe failed", self.delay)

    @property
    def bucket(self) -> float:
        """The width of one bucket of the window, in seconds."""
        return self._width

    def counted(self) -> tuple[int, int, int]:
        """Attempts, failed attempts and failing jobs in the window now (as last rolled)."""
        return sum(self._attempts), sum(self._failures), len(self._failing)

    def _trip(self) -> Change | None:
        attempts, failures, jobs = self.counted()
        policy = self.policy
        if (
            attempts < policy.min_attempts
            or jobs < policy.min_jobs
            or failures < policy.failure_ratio * attempts
        ):
            return None
        self.state = OPEN
        reason = f"{failures} of {attempts} attempts failed, {jobs} jobs, within {policy.window:g}s"
        return Change(OPEN, reason, self.delay)

    def _roll(self, now: float) -> None:
        """Move the window to `now`: buckets that fell out of it start again from zero."""
        epoch = int(now // self._width)
        for passed in range(max(self._epoch + 1, epoch - _BUCKETS + 1), epoch + 1):
            self._attempts[passed % _BUCKETS] = 0
            self._failures[passed % _BUCKETS] = 0
        self._at(epoch)
        if self._failing:
            oldest = epoch - _BUCKETS + 1
            self._failing = {job: e for job, e in self._failing.items() if e >= oldest}

    def _restart(self, now: float) -> None:
        self._attempts = [0] * _BUCKETS
        self._failures = [0] * _BUCKETS
        self._failing = {}
        self._at(int(now // self._width))

    def _at(self, epoch: int) -> None:
        self._epoch = epoch
        self._slot = epoch % _BUCKETS
        self._roll_at = (epoch + 1) * self._width
