"""The reference scheduler the manifests run: one daily report for the day before."""

from datetime import UTC, datetime, timedelta

from keel.producers.scheduler.demo import daily_sales, schedules
from keel.schemas.demo import GenerateReport


def _report(at: datetime) -> GenerateReport:
    report = daily_sales(at)
    assert isinstance(report, GenerateReport)
    return report


def test_the_daily_report_covers_the_day_before_its_fire() -> None:
    fire = schedules.schedules[0].trigger.next_after(datetime(2026, 3, 1, 12, tzinfo=UTC))

    report = _report(fire)

    assert fire == datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert report.period_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert report.period_end - report.period_start == timedelta(days=1)


def test_a_repeated_fire_builds_the_same_report() -> None:
    fire = datetime(2026, 3, 2, 1, tzinfo=UTC)

    assert _report(fire).report_id == _report(fire).report_id
    assert _report(fire).report_id != _report(fire + timedelta(days=1)).report_id
