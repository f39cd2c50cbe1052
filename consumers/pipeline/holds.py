"""Jobs held while their type's circuit is open, and the probe that tries the type again.

The engine asks this module at three points, and it answers from one `Breaker` per job type
(`pipeline.circuit`):

- before an attempt starts (`admits`, asked only while some circuit is not closed): a job of an
  open type is held instead; in a half-open circuit the first job to ask becomes the probe;
- after an attempt succeeds: the engine adds one to `ok[job_type]`, a plain dict entry (no
  call: this runs for every job), which a tick hands to the breakers every tenth of their
  window, and before a failure is weighed; while a circuit is not closed it also calls
  `succeeded`, where a probe's success closes the circuit and releases every held job of the
  type, oldest first;
- after an attempt fails (`failed`): a retryable failure is counted, and once the circuit is
  open (this failure opened it, it was open already, or this was the failed probe) the job is
  held with its attempt number unchanged: a failure during an outage costs no attempt.

A held job stays the head of its key's lane, so its key waits and nothing else does; it stays
in its partition's buffer, so a partition full of held jobs pauses as flow control pauses any
full partition; and it sits in its partition's `waiting` set, so a revoke drops it like a job
waiting for a retry (the next owner runs it). Every transition is logged in one line and
counted; `readings()` gives the state, held jobs and transitions per type at scrape time.
"""

import asyncio
import logging
import time
import weakref
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.pipeline.circuit import CLOSED, HALF_OPEN, OPEN, Breaker, Change
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.retry_policy import RETRIES_EXHAUSTED, DeadLetter, Decision, RetryAfter

_LOG = logging.getLogger(__name__)

Release = Callable[[RecordState], bool]  # start a held job again; False: it was dropped since


@dataclass(frozen=True, slots=True)
class CircuitReading:
    """One job type's circuit as read now."""

    state: str
    held: int  # jobs waiting for the circuit to close
    transitions: Mapping[str, int]  # state -> how often the circuit moved to it


class Holds:
    """The circuits of the job types that have one, and the jobs they hold."""

    def __init__(
        self,
        policies: Mapping[str, CircuitPolicy],
        *,
        loop: asyncio.AbstractEventLoop,
        release: Release,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """`policies` by job type name; `clock` reads monotonic seconds (a test's own)."""
        now = clock()
        self._breakers = {name: Breaker(p, now) for name, p in policies.items() if p.enabled}
        # The types whose circuit is not closed; empty (falsy) while all are, which the engine
        # checks before every attempt instead of calling `admits`.
        self.tripped: dict[str, Breaker] = {}
        # Successes by job type since the last tick, counted by the engine.
        self.ok: defaultdict[str, int] = defaultdict(int)
        self._loop = loop
        self._release = release
        self._clock = clock
        self._held: dict[str, deque[RecordState]] = {}
        self._probes: dict[str, RecordState] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._transitions: Counter[tuple[str, str]] = Counter()
        self._tick_every = min((b.bucket for b in self._breakers.values()), default=0.0)
        if self._tick_every:
            self._arm_tick()

    def admits(self, record: RecordState) -> bool:
        """May `record` start now? False: hold it (its type's circuit is open or probing)."""
        job_type = record.job_type
        breaker = self.tripped.get(job_type)
        if breaker is None:
            return True
        if breaker.state is HALF_OPEN and job_type not in self._probes:
            self._probes[job_type] = record
            return True
        return False

    def hold(self, record: RecordState) -> None:
        """Keep `record` until its circuit lets it go."""
        self._held.setdefault(record.job_type, deque()).append(record)

    def succeeded(self, record: RecordState) -> None:
        """`record`'s attempt succeeded while some circuit is not closed: was it a probe?"""
        job_type = record.job_type
        if self._probes.get(job_type) is record:
            del self._probes[job_type]
            self.ok.pop(job_type, None)  # successes while open say nothing of the new window
            self._changed(job_type, self._breakers[job_type].probe_succeeded(self._clock()))

    def failed(self, record: RecordState, decision: Decision) -> bool:
        """`record`'s attempt failed and the retry policy said `decision`. True: hold it.

        Only retryable failures count; a fatal error or a rejection is the job's own fault
        (poison) and goes its usual way, and a probe that ends so proves nothing: the next
        probe is picked when the watch timer fires.
        """
        job_type = record.job_type
        breaker = self._breakers.get(job_type)
        if breaker is None:
            return False
        retryable = is_retryable(decision)
        if self._probes.get(job_type) is record:
            del self._probes[job_type]
            if retryable:
                self._changed(job_type, breaker.probe_failed())
            return retryable
        if not retryable:
            return False
        if breaker.state is not CLOSED:
            return True  # started before the circuit opened; counts for nothing now
        now = self._clock()
        successes = self.ok.pop(job_type, 0)
        if successes:
            breaker.succeeded(now, successes)
        change = breaker.failed(now, (record.part.tp, record.offset))
        if change is None:
            return False
        self._changed(job_type, change)
        return True

    def readings(self) -> dict[str, CircuitReading]:
        """Every circuit's state, live held jobs and transitions, by job type."""
        return {
            name: CircuitReading(
                breaker.state,
                sum(1 for r in self._held.get(name, ()) if r in r.part.waiting),
                {to: n for (of, to), n in self._transitions.items() if of == name},
            )
            for name, breaker in self._breakers.items()
        }

    def _tick(self) -> None:
        """Hand the successes counted since the last tick to the closed breakers."""
        now = self._clock()
        breakers = self._breakers
        for job_type, successes in self.ok.items():
            breaker = breakers.get(job_type)
            if breaker is not None and breaker.state is CLOSED:
                breaker.succeeded(now, successes)
        self.ok.clear()
        self._arm_tick()

    def _arm_tick(self) -> None:
        # The timer holds these holds weakly: an engine nobody uses any more is not kept alive
        # by its tick (a test's in-memory workers share one loop).
        self._loop.call_later(self._tick_every, _tick, weakref.WeakMethod(self._tick))

    # -- transitions ----------------------------------------------------------------------------

    def _changed(self, job_type: str, change: Change) -> None:
        self._transitions[job_type, change.state] += 1
        _log(job_type, change)
        if change.state is OPEN:
            self.tripped[job_type] = self._breakers[job_type]
            self._arm(job_type, change.probe_in or 0.0)
        elif change.state is CLOSED:
            self.tripped.pop(job_type, None)
            timer = self._timers.pop(job_type, None)
            if timer is not None:
                timer.cancel()
            self._release_all(job_type)

    def _arm(self, job_type: str, delay: float) -> None:
        timer = self._timers.get(job_type)
        if timer is not None:
            timer.cancel()
        self._timers[job_type] = self._loop.call_later(delay, self._due, job_type)

    def _due(self, job_type: str) -> None:
        """The open circuit's wait is over: probe. Also a watch while half-open: should the
        chosen probe never start (its partition was revoked while it waited for a slot), the
        next held job is tried."""
        self._timers.pop(job_type, None)
        breaker = self.tripped.get(job_type)
        if breaker is None:
            return
        if breaker.state is OPEN:
            self._changed(job_type, breaker.probe_due())
        if job_type not in self._probes:
            self._release_next(job_type)
        if self._held.get(job_type) or job_type in self._probes:
            self._arm(job_type, breaker.delay)

    def _release_next(self, job_type: str) -> None:
        held = self._held.get(job_type)
        while held:
            if self._release(held.popleft()):
                return

    def _release_all(self, job_type: str) -> None:
        for record in self._held.pop(job_type, ()):
            self._release(record)


def _tick(tick: "weakref.WeakMethod[Callable[[], None]]") -> None:
    method = tick()
    if method is not None:
        method()


def is_retryable(decision: Decision) -> bool:
    """Did the policy take the failure for a transient one (retry, or out of attempts for it)?"""
    if isinstance(decision, RetryAfter):
        return True
    return isinstance(decision, DeadLetter) and decision.reason == RETRIES_EXHAUSTED


def _log(job_type: str, change: Change) -> None:
    extra = {"job_type": job_type, "circuit": change.state}
    if change.state is OPEN:
        _LOG.warning(
            "circuit of %s open: %s; its jobs wait, a probe in %gs",
            job_type,
            change.reason,
            change.probe_in,
            extra=extra,
        )
    else:
        _LOG.info("circuit of %s %s: %s", job_type, change.state, change.reason, extra=extra)
