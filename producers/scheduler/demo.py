"""The reference scheduler the manifests run (deploy/k8s/components/scheduler).

    keel scheduler run keel.producers.scheduler.demo:schedules

One schedule: a daily sales report for the day before, published as the demo's
`GenerateReport` (routed by `KEEL_ROUTES` to `jobs.reports`, which the demo worker handles). It
stands where a service's own scheduler would, as `keel.consumers.demo:app` stands for its app.
"""

import uuid
from datetime import datetime, timedelta

from keel.producers.scheduler.app import Scheduler
from keel.schemas.demo import GenerateReport

schedules = Scheduler("keel-demo")
# The requester of every scheduled report: a fixed id, so the reports of one day are one report.
_SCHEDULER_USER = uuid.UUID(int=1)


@schedules.cron("0 1 * * *", name="daily-sales")
def daily_sales(at: datetime) -> GenerateReport:
    """Yesterday's sales, at 01:00 UTC; the report id is the day's, so a repeat overwrites."""
    start = at.replace(hour=0) - timedelta(days=1)
    return GenerateReport(
        report_id=uuid.uuid5(_SCHEDULER_USER, f"daily-sales/{start.date().isoformat()}"),
        kind="daily-sales",
        requested_by=_SCHEDULER_USER,
        period_start=start,
        period_end=start + timedelta(days=1),
    )
