"""What a partition's new owner takes over from the previous one, record by record.

The previous owner left an `InFlight` entry in the commit metadata for every record that had
begun an attempt and not finished (see `metadata`). When such a record arrives here it carries
on from there: its next attempt is the one after the last one begun, a retry that was waiting
out its backoff waits only for what is left of it, and a record whose last attempt was cut short
(the entry has no due time: it was running when its owner died or gave it up) counts that
attempt as used. Once its attempts are used up that way it is not run again: it is dead-lettered
with the reason `crash-loop`, and the jobs behind it on its key go on.

The decisions are pure; the engine acts on them.
"""

from dataclasses import dataclass

from keel.consumers.pipeline.metadata import InFlight
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.retry_policy import CRASH_LOOP, DeadLetter


class WorkerLost(Exception):  # noqa: N818 - named for what happened, as the DLT header shows it
    """Every attempt of the job ended with its worker's death (or its partition taken away)."""


@dataclass(frozen=True, slots=True)
class Wait:
    """The inherited retry is due in `seconds`."""

    seconds: float


Verdict = Wait | DeadLetter | None  # None: start it now


def take_over(record: RecordState, entry: InFlight, *, crashed: bool) -> None:
    """`record` arrived with a previous owner's entry: count on from it.

    When that owner `crashed` (did not seal its handover), a record it was running is a
    suspect: it may be what killed it (see `careful`). One given up at a clean handover (its
    drain deadline passed) is not.
    """
    record.begun = entry.begun
    record.attempt = entry.begun + 1
    record.due_ms = entry.due_ms
    record.inherited = entry
    record.suspect = crashed and not entry.due_ms


def verdict(record: RecordState, max_attempts: int, now_ms: int) -> Verdict:
    """What to do with an inherited record when its turn first comes on this owner."""
    entry = record.inherited
    record.inherited = None
    if entry is None:
        return None
    if entry.due_ms:
        remaining = (entry.due_ms - now_ms) / 1000
        if remaining > 0:
            return Wait(remaining)
        record.due_ms = 0
        return None
    if entry.begun >= max_attempts:
        return DeadLetter(CRASH_LOOP)
    return None


def lost_error(begun: int) -> WorkerLost:
    """The error a crash-loop dead letter carries, naming the attempts."""
    return WorkerLost(f"its worker died or lost its partition during {begun} attempt(s)")
