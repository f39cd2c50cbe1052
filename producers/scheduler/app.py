"""Periodic jobs that fire once per fire time, however many scheduler processes run.

    schedules = Scheduler("billing")

    @schedules.cron("0 9 * * *", name="daily-invoices")
    def daily_invoices(at: datetime) -> InvoiceRun:
        return InvoiceRun(...)

`keel scheduler run module:schedules` runs it. Run two or more for availability: they form a
consumer group on the scheduler's state topic (one partition), and only the member that owns it
publishes. Group membership alone cannot rule out two publishers (a paused leader may not know
it lost its place yet), so each leader also opens a Kafka transaction producer under the
scheduler's one transactional id: starting it fences every earlier holder, whose next commit
fails, and a fire's jobs and its state record commit together. See `loop` and `leader`.

Like an `App`, a scheduler carries the catalog of the job types it publishes. By default it
takes in each job type the first time one is published, like a `Publisher`; given a catalog, a
schedule whose factory is annotated to return a type the catalog lacks is refused when it is
added, not at every fire.
"""

import re
import types
import typing
from collections.abc import Callable
from datetime import datetime, timedelta

from keel.producers.scheduler.triggers import CatchUp, Cron, Every, Schedule, Trigger
from keel.schemas.catalog import JobCatalog
from keel.schemas.errors import NotInCatalogError
from keel.schemas.job import Job

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
Make = Callable[[datetime], Job]


class Scheduler:
    """A named set of schedules: the unit that elects one leader and keeps one state topic."""

    def __init__(self, name: str, *, catalog: JobCatalog | None = None) -> None:
        """`catalog`: the job types this scheduler may publish; by default, whatever it publishes.

        A fixed catalog (`JobCatalog.from_models([...])`) makes a schedule that returns any other
        type fail when it is added, instead of publishing a type nobody reviewed.
        """
        if not _NAME.match(name):
            raise ValueError(f"scheduler name {name!r}: use letters, digits, '.', '_' or '-'")
        self.name = name
        self.catalog = catalog if catalog is not None else JobCatalog.learning()
        self._schedules: dict[str, Schedule] = {}

    @property
    def schedules(self) -> list[Schedule]:
        return list(self._schedules.values())

    @property
    def state_topic(self) -> str:
        return f"keel.scheduler.{self.name}"

    @property
    def group(self) -> str:
        return f"keel-scheduler.{self.name}"

    @property
    def transactional_id(self) -> str:
        return f"keel-scheduler.{self.name}"

    def add(self, schedule: Schedule) -> Schedule:
        """Add `schedule`; names are unique within a scheduler, since state is kept by name."""
        if not _NAME.match(schedule.name):
            raise ValueError(f"schedule name {schedule.name!r}: use letters, digits, . _ -")
        if schedule.name in self._schedules:
            raise ValueError(f"{self.name} already has a schedule named {schedule.name!r}")
        for model in returned_job_types(schedule.make):
            try:
                self.catalog.of(model)
            except NotInCatalogError:
                raise NotInCatalogError(
                    f"schedule {schedule.name!r} returns {model.get_fullname()}, which is not in "
                    f"the catalog of scheduler {self.name!r}: pass Scheduler(..., catalog=...)"
                ) from None
        self._schedules[schedule.name] = schedule
        return schedule

    def every(
        self,
        interval: timedelta | float,
        *,
        name: str | None = None,
        key: str | None = None,
        catch_up: CatchUp | None = None,
    ) -> Callable[[Make], Make]:
        """Decorate a job factory to fire every `interval` (seconds, or a timedelta)."""
        span = interval if isinstance(interval, timedelta) else timedelta(seconds=interval)
        return self._decorator(Every(span), name, key, catch_up)

    def cron(
        self,
        expression: str,
        *,
        timezone: str = "UTC",
        name: str | None = None,
        key: str | None = None,
        catch_up: CatchUp | None = None,
    ) -> Callable[[Make], Make]:
        """Decorate a job factory to fire on a cron `expression`, read in `timezone`."""
        return self._decorator(Cron(expression, timezone), name, key, catch_up)

    def _decorator(
        self, trigger: Trigger, name: str | None, key: str | None, catch_up: CatchUp | None
    ) -> Callable[[Make], Make]:
        def register(make: Make) -> Make:
            label = name or make.__name__.replace("_", "-")
            self.add(Schedule(label, trigger, make, key, catch_up or CatchUp()))
            return make

        return register


def returned_job_types(make: Make) -> list[type[Job]]:
    """The concrete job types a factory's return annotation names (`A`, or `A | B`), if any."""
    try:
        returned = typing.get_type_hints(make).get("return")
    except (NameError, TypeError, AttributeError):  # unresolvable here: says nothing either way
        return []
    union = typing.get_origin(returned) in {typing.Union, types.UnionType}
    candidates = typing.get_args(returned) if union else (returned,)
    return [c for c in candidates if isinstance(c, type) and issubclass(c, Job) and c is not Job]
