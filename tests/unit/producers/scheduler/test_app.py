"""A Scheduler: its schedules by name, and the catalog of the job types they return."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from keel.producers.scheduler import Scheduler
from keel.schemas.catalog import JobCatalog
from keel.schemas.demo import GenerateReport, SendEmail
from keel.schemas.errors import NotInCatalogError
from keel.schemas.job import Job


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 21, hour, minute, second, tzinfo=UTC)


def _report(moment: datetime) -> GenerateReport:
    return GenerateReport(
        report_id=uuid.UUID(int=1),
        kind="daily",
        requested_by=uuid.UUID(int=2),
        period_start=moment - timedelta(days=1),
        period_end=moment,
    )


def test_scheduler_names_schedules_after_their_factories_and_refuses_twins() -> None:
    schedules = Scheduler("reports")

    @schedules.every(60)
    def hourly_sales(moment: datetime) -> GenerateReport:
        return _report(moment)

    assert [s.name for s in schedules.schedules] == ["hourly-sales"]
    assert schedules.schedules[0].record_key == "hourly-sales"
    assert schedules.schedules[0].make(at(9)) == hourly_sales(at(9))
    with pytest.raises(ValueError, match="already has a schedule named 'hourly-sales'"):
        schedules.every(30, name="hourly-sales")(hourly_sales)
    with pytest.raises(ValueError, match="scheduler name"):
        Scheduler("no spaces")


def test_a_scheduler_takes_in_what_it_publishes_unless_given_a_catalog() -> None:
    learning = Scheduler("default").catalog
    assert learning.names == []
    learning.of(SendEmail)
    assert learning.names == ["keel.jobs.SendEmail"]
    only_emails = JobCatalog.from_models([SendEmail])
    assert Scheduler("emails", catalog=only_emails).catalog is only_emails


def test_a_schedule_returning_a_type_outside_the_catalog_is_refused_when_added() -> None:
    schedules = Scheduler("emails", catalog=JobCatalog.from_models([SendEmail]))

    refused = re.escape("'daily-report' returns keel.jobs.GenerateReport")
    with pytest.raises(NotInCatalogError, match=refused):
        schedules.every(60, name="daily-report")(_report)
    assert schedules.schedules == []


class _Unlisted(Job):
    n: int


def test_every_type_of_a_union_return_is_checked() -> None:
    schedules = Scheduler("reports", catalog=JobCatalog.from_models([GenerateReport]))

    def either(moment: datetime) -> GenerateReport | _Unlisted:
        return _report(moment)

    with pytest.raises(NotInCatalogError, match="_Unlisted"):
        schedules.every(60)(either)


def test_a_factory_that_names_no_concrete_job_type_is_checked_only_when_it_fires() -> None:
    schedules = Scheduler("emails", catalog=JobCatalog.from_models([SendEmail]))

    def any_job(moment: datetime) -> Job:
        return _report(moment)

    schedules.every(60)(any_job)

    assert [s.name for s in schedules.schedules] == ["any-job"]
