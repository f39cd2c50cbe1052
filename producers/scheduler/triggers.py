"""When scheduled jobs are due: triggers, the catch-up policy, and the pure `due` decision.

A trigger is a rule for fire times (`Every` fixed interval, `Cron` expression). Fire times are
absolute instants computed from the rule alone, never from when a process happened to start, so
every scheduler instance agrees on them: that is what lets a fire be identified (and written
once) by its schedule name and instant.

`due` answers "which fire times come due now, given the last one written?" without I/O, so the
scheduler loop stays small and a table test covers the catch-up rules: after downtime, either
every missed fire time runs (bounded by a limit) or only the latest (`coalesce`, the default),
and a `misfire_grace` drops fire times that are too old to still be useful.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import croniter

from keel.schemas.job import Job

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Never enumerate more missed fire times than this, whatever the downtime was.
DEFAULT_CATCH_UP_LIMIT = 100


class Trigger(Protocol):
    """A rule for fire times; all instants are timezone-aware."""

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after `moment`."""

    def last_before(self, moment: datetime) -> datetime:
        """The last fire time strictly before `moment`."""


@dataclass(frozen=True)
class Every:
    """Every `interval`, aligned to the Unix epoch (every minute fires at :00 seconds)."""

    interval: timedelta

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError(f"interval must be positive, got {self.interval}")

    def next_after(self, moment: datetime) -> datetime:
        return EPOCH + (((moment - EPOCH) // self.interval) + 1) * self.interval

    def last_before(self, moment: datetime) -> datetime:
        ticks, rest = divmod(moment - EPOCH, self.interval)
        return EPOCH + (ticks if rest else ticks - 1) * self.interval


@dataclass(frozen=True)
class Cron:
    """A cron expression (croniter's syntax: 5 fields, or 6 with seconds last), in `timezone`."""

    expression: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expression):
            raise ValueError(f"not a cron expression: {self.expression!r}")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at definition

    def next_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return croniter(self.expression, local).get_next(datetime).astimezone(UTC)

    def last_before(self, moment: datetime) -> datetime:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return croniter(self.expression, local).get_prev(datetime).astimezone(UTC)


@dataclass(frozen=True)
class CatchUp:
    """What to fire after a time with no scheduler running (or a stalled one).

    `coalesce`: fire only the latest missed time, once. `misfire_grace`: skip fire times older
    than this when they come due (None: no age limit). `limit`: at most this many fire times at
    once when not coalescing.
    """

    coalesce: bool = True
    misfire_grace: timedelta | None = None
    limit: int = DEFAULT_CATCH_UP_LIMIT


@dataclass(frozen=True)
class Schedule:
    """One named schedule: when it fires, what job it publishes and under which key.

    `make` gets the fire time and returns the job. The key defaults to the schedule's name, so
    the fires of one schedule stay in order even for job types declared ordered.
    """

    name: str
    trigger: Trigger
    make: Callable[[datetime], Job]
    key: str | None = None
    catch_up: CatchUp = field(default_factory=CatchUp)

    @property
    def record_key(self) -> str:
        return self.name if self.key is None else self.key


def due(trigger: Trigger, since: datetime, now: datetime, catch_up: CatchUp) -> list[datetime]:
    """Fire times in (`since`, `now`] to fire now, oldest first, after the catch-up policy.

    `since` is the last fire time written, or when this scheduler took over if none was.
    """
    wanted = 1 if catch_up.coalesce else max(catch_up.limit, 1)
    found: list[datetime] = []
    moment = now + timedelta(microseconds=1)  # `last_before` is strict; `now` itself counts
    while len(found) < wanted:
        moment = trigger.last_before(moment)
        if moment <= since:
            break
        found.append(moment)
    if catch_up.misfire_grace is not None:
        found = [t for t in found if now - t <= catch_up.misfire_grace]
    return found[::-1]
