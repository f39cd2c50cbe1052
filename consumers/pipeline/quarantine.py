"""Key quarantine: once a job of a key is dead-lettered, the key's later jobs do not run.

A key whose job was set aside is *held* on its partition: each later record of the key is
*parked* (written to the dead-letter topic beside the blocking job, with `keel-blocked-by`
naming it) and then counts as finished, like a dead letter, so the partition's commit and every
other key move on. The hold is saved in Kafka (the `Keeper` writes it; see
`keel.consumers.dead_letters.parking`) before the blocking job counts as finished, and a new
owner of the partition loads it before it runs any record: a restart or a rebalance changes
nothing. Each park, once acknowledged, is told to the engine's observer (`job_parked`), so a
tracked job reads `parked` with the job it waits behind (docs/status.md).

A hold ends only through the partition itself, in the order of its records: `keel dlt replay`
of the blocking job writes it again, then the parked jobs in their original order, each tagged
`keel-quarantine-replay` (they run while the key is held), then a *resume marker* (a record of
the key with no value, `keel-quarantine-resume`). `keel dlt release` writes the parked jobs and
the marker without the blocking job. The marker lifts the hold only if the replay covered every
job parked so far (`keel-quarantine-covers` >= the hold's `parked_through`): a job of the key
published while the replay ran comes before the marker, is parked, and runs after another
replay, never before the replayed ones.

Records without a key keep no order: they are never held.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from keel.consumers.pipeline.observer import NoObserver, Observer
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.pipeline.records import Header, TopicPartition
from keel.consumers.registrations import Registration
from keel.schemas.headers import (
    JOB_ID,
    JOB_TYPE,
    QUARANTINE_COVERS,
    QUARANTINE_REPLAY,
    QUARANTINE_RESUME,
    header_value,
)

_LOG = logging.getLogger(__name__)

RETRY_MAX = 30.0
PARKED = "quarantined"  # the dead-letter reason of a parked record
Done = Callable[[str | None], None]  # a write's outcome: None, or why it failed
Settled = Callable[[RecordState], None]


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a key is held: the job that blocks it, and the last offset parked behind it."""

    blocker: str  # the blocking job's origin position, `topic/partition/offset`
    job_id: str
    parked_through: int = -1

    @property
    def blocker_offset(self) -> int:
        return int(self.blocker.rsplit("/", 1)[1])


class Keeper(Protocol):
    """Writes what the quarantine decides: parked records, and holds saved or cleared."""

    def park(self, record: RecordState, hold: Hold, done: Done) -> None: ...
    def save(self, tp: TopicPartition, key: bytes, hold: Hold | None, done: Done) -> None: ...


class HoldSource(Protocol):
    """The holds a new owner of `tp` starts from (read from Kafka before it was assigned)."""

    def holds(self, tp: TopicPartition) -> Mapping[bytes, Hold]: ...

    def durable(self) -> bool:
        """False when the holds' topic could not be read: holds are then kept in memory only."""
        ...


class NoHolds:
    """No saved holds: for an engine without Kafka (tests, benchmarks)."""

    def holds(self, tp: TopicPartition) -> Mapping[bytes, Hold]:
        return {}

    def durable(self) -> bool:
        return True


def origin_id(record: RecordState) -> str:
    """A record's position, the name a hold gives its blocking job."""
    message = record.message
    return f"{message.topic()}/{message.partition()}/{message.offset()}"


def applies(registration: Registration | None, default: bool) -> bool:
    """Whether a dead letter of this job type holds its key (undecodable: the default)."""
    if registration is None or registration.quarantine is None:
        return default
    return registration.quarantine


def _text(headers: list[Header] | None, name: str) -> str | None:
    value = header_value(headers, name)
    return None if value is None else value.decode("utf-8", "replace")


class KeyQuarantine:
    """The held keys of every owned partition, and what happens to their records.

    Lives on the event loop with the engine: `takes` is asked before a record starts,
    `dead_lettered` after a dead-letter write was acknowledged.
    """

    def __init__(
        self,
        keeper: Keeper,
        source: HoldSource,
        *,
        default: bool,
        finish: Settled,
        given_up: Settled,
        observer: Observer | None = None,
    ) -> None:
        """`observer` is told of each park once it is acknowledged (`job_parked`)."""
        self._keeper = keeper
        self._observer = observer or NoObserver()
        self._source = source
        self._default = default
        self._finish = finish
        self._given_up = given_up
        self._books: dict[TopicPartition, dict[bytes, Hold]] = {}
        self._holding = False  # any key held: else `takes` answers from the record alone
        self.parked = 0  # records parked by this worker since it started

    # -- ownership ----------------------------------------------------------------------------

    def assign(self, tp: TopicPartition) -> None:
        holds = dict(self._source.holds(tp))
        if holds:
            _LOG.info("%s/%s starts with %d quarantined keys", *tp, len(holds))
        self._books[tp] = holds
        self._count()

    def forget(self, tp: TopicPartition) -> None:
        self._books.pop(tp, None)
        self._count()

    def _count(self) -> None:
        self._holding = any(self._books.values())

    @property
    def held(self) -> int:
        """Keys held now, over every owned partition."""
        return sum(len(book) for book in self._books.values())

    def hold_of(self, tp: TopicPartition, key: bytes) -> Hold | None:
        book = self._books.get(tp)
        return None if book is None else book.get(key)

    # -- records ------------------------------------------------------------------------------

    def takes(self, record: RecordState) -> bool:
        """True when the record must not run: it is parked, or it is a resume marker."""
        key = record.key
        if key is None:
            return False
        message = record.message
        if message.value() is None and header_value(message.headers(), QUARANTINE_RESUME):
            self._resume(record, key)
            return True
        if not self._holding:  # the common case: one attribute read per keyed record
            return False
        hold = self.hold_of(record.part.tp, key)
        if hold is None or _text(message.headers(), QUARANTINE_REPLAY) == hold.blocker:
            return False
        return self._behind(record, key, hold)

    def _behind(self, record: RecordState, key: bytes, hold: Hold) -> bool:
        """A record of a held key: parked when it comes after the blocking job."""
        offset = record.offset
        if offset < hold.blocker_offset:
            # A job before the blocker, delivered again after its owner died before committing:
            # it comes first in the key's order, so it runs as it did before the hold.
            return False
        if offset == hold.blocker_offset:
            # The blocking job itself, delivered again after its owner died before committing:
            # the hold exists only once its dead letter was acknowledged, so it is finished.
            self._finish(record)
            return True
        self._park(record, key, hold)
        return True

    def dead_lettered(self, record: RecordState) -> None:
        """A dead-letter write was acknowledged: hold its key (saved first), then finish it."""
        key = record.key
        if key is None or not applies(record.registration, self._default):
            self._finish(record)
            return
        job_id = _text(record.message.headers(), JOB_ID) or ""
        hold = Hold(origin_id(record), job_id)
        tp = record.part.tp
        self._write(
            record,
            lambda done: self._keeper.save(tp, key, hold, done),
            lambda: self._held(record, key, hold),
        )

    def _held(self, record: RecordState, key: bytes, hold: Hold) -> None:
        book = self._books.get(record.part.tp)
        if book is not None:
            book[key] = hold
            self._holding = True
        _LOG.warning("key %r of %s/%s quarantined behind %s", key, *record.part.tp, hold.blocker)
        self._finish(record)

    def _park(self, record: RecordState, key: bytes, hold: Hold) -> None:
        offset = record.offset
        message = record.message
        through = replace(hold, parked_through=max(hold.parked_through, offset))
        tp = record.part.tp
        # Not decoded when the registry was away: the type the publisher wrote says it then.
        job_type = record.job_type or _text(message.headers(), JOB_TYPE)

        def parked() -> None:
            self.parked += 1
            self._observer.job_parked(message, job_type, hold.job_id or hold.blocker)
            self._write(
                record,
                lambda done: self._keeper.save(tp, key, through, done),
                lambda: self._moved(record, key, through),
            )

        self._write(record, lambda done: self._keeper.park(record, hold, done), parked)

    def _moved(self, record: RecordState, key: bytes, hold: Hold) -> None:
        book = self._books.get(record.part.tp)
        if book is not None and key in book:
            book[key] = hold
        self._finish(record)

    def _resume(self, record: RecordState, key: bytes) -> None:
        headers = record.message.headers()
        blocker = _text(headers, QUARANTINE_RESUME)
        covers = int(_text(headers, QUARANTINE_COVERS) or -1)
        hold = self.hold_of(record.part.tp, key)
        if hold is None or hold.blocker != blocker:
            self._finish(record)  # a marker of a hold that ended already, or was replaced
            return
        if covers < hold.parked_through:
            _LOG.warning(
                "key %r stays quarantined behind %s: jobs up to offset %d were parked after the "
                "replay read the dead letters (up to %d); run the replay again",
                key,
                blocker,
                hold.parked_through,
                covers,
            )
            self._finish(record)
            return
        tp = record.part.tp
        self._write(
            record,
            lambda done: self._keeper.save(tp, key, None, done),
            lambda: self._lifted(record, key),
        )

    def _lifted(self, record: RecordState, key: bytes) -> None:
        book = self._books.get(record.part.tp)
        if book is not None:
            book.pop(key, None)
            self._count()
        _LOG.info("key %r of %s/%s runs again", key, *record.part.tp)
        self._finish(record)

    # -- writes -------------------------------------------------------------------------------

    def _write(
        self,
        record: RecordState,
        write: Callable[[Done], None],
        then: Callable[[], None],
        backoff: float = 0.5,
    ) -> None:
        """Run `write`, again until it is acknowledged, then `then`; give up with the partition.

        The partition counts as busy meanwhile (a drain waits for the write), and its commit
        stays behind the record, as behind a dead letter whose write fails.
        """
        part = record.part
        if part.closed:
            self._given_up(record)
            return
        part.busy += 1

        def done(error: str | None) -> None:
            if error is None:
                part.busy -= 1
                part.blocked = None
                then()
                part.check_idle()
                return
            _LOG.error("quarantine write for %s/%s failed (%s); retrying", *part.tp, error)
            part.blocked = error
            asyncio.get_running_loop().call_later(backoff, again)

        def again() -> None:
            part.busy -= 1
            self._write(record, write, then, min(2 * backoff, RETRY_MAX))
            part.check_idle()

        write(done)
