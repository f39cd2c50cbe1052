"""Expired jobs: a job whose `keel-expires-at` passed before it started is not run.

The header is read once, when the record is decoded (`expires_at`); the check is made right
before the job would start (`Expiry.stops`), after it waited for its key's turn, a free slot or
a closed circuit, so a job that expires while it waits does not run either. Records without the
header cost one attribute read there. Only a job that has not begun an attempt (here or on a
previous owner) expires: a job that started is retried by its policy as any other.

An expired job goes to the dead-letter topic with reason `expired`, or, for a job type
registered with `on_expired="drop"`, is dropped and counted. Either way it counts as finished
for the offset watermark, a dead-lettered one once its write is acknowledged. Its key is not
quarantined behind it (an expired job is not a failure, and the key's later jobs are what
replaced it): the engine finishes it past the quarantine.

The clock is the worker's wall clock, against the publisher's: skew between the two hosts moves
the moment a job expires by as much (docs/guarantees.md).
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

from keel.consumers.pipeline.decode import Poison
from keel.consumers.pipeline.observer import Observer
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.pipeline.records import Header
from keel.consumers.registrations import OnExpired, Registration
from keel.schemas.headers import EXPIRES_AT

EXPIRED = "expired"  # the dead-letter reason
DEAD_LETTER: OnExpired = "dead-letter"
DROP: OnExpired = "drop"
ERROR_CLASS = "keel.consumers.JobExpired"

SetAside = Callable[[RecordState, Poison], None]
Finish = Callable[[RecordState], None]
Later = Callable[[Callable[[RecordState], None], RecordState], object]


def expires_at(headers: list[Header] | None) -> int:
    """A record's expiry in epoch milliseconds; 0 when it has none (or one that is not a number).

    An unreadable expiry never makes a job expire: running it is what a job without one does.
    """
    for name, value in headers or ():
        if name == EXPIRES_AT:
            try:
                return int(value or 0)
            except ValueError:
                return 0
    return 0


def action(registration: Registration | None, default: OnExpired) -> OnExpired:
    """What becomes of an expired job of this type: its own setting, else the worker's."""
    if registration is None or registration.on_expired is None:
        return default
    return registration.on_expired


def expired_letter(expires_ms: int, now_ms: int) -> Poison:
    """Why an expired job is set aside, as its dead-letter headers say it."""
    at = datetime.fromtimestamp(expires_ms / 1000, UTC).isoformat(timespec="milliseconds")
    message = f"expired at {at}, {now_ms - expires_ms} ms before it would have started"
    return Poison(EXPIRED, ERROR_CLASS, message, "")


class Expiry:
    """Stops expired jobs at their start and sends each where its job type says."""

    __slots__ = ("_clock", "_dead_letter", "_default", "_finish", "_later", "_observer")

    def __init__(
        self,
        default: OnExpired,
        *,
        observer: Observer,
        dead_letter: SetAside,
        finish: Finish,
        later: Later,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`later(function, record)` calls back on the loop's next turn (`loop.call_soon`).

        A dropped job finishes there and not at once: its finish starts its key's next job,
        and a key with many expired jobs would otherwise finish them in one deep recursion.
        """
        self._default = default
        self._observer = observer
        self._dead_letter = dead_letter
        self._finish = finish
        self._later = later
        self._clock = clock

    def stops(self, record: RecordState) -> bool:
        """True when `record` (which has an expiry) must not start: it is now set aside."""
        now_ms = int(self._clock() * 1000)
        if record.begun or now_ms < record.expires_ms:
            return False
        chosen = action(record.registration, self._default)
        self._observer.expired(record.job_type, chosen)
        self._observer.job_expired(record.message, record.job_type, chosen)
        record.expired = True
        if chosen == DROP:
            record.part.busy += 1  # a revoke waits for it, so its offset is committed
            self._later(self._dropped, record)
        else:
            self._dead_letter(record, expired_letter(record.expires_ms, now_ms))
        return True

    def _dropped(self, record: RecordState) -> None:
        part = record.part
        part.busy -= 1
        self._finish(record)
        part.check_idle()
