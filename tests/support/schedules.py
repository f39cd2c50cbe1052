"""A scheduler for the scheduler's tests: named by the environment, firing every second.

Every missed second is caught up (no coalescing), so a test can check that the fires on the
broker are exactly the consecutive seconds from first to last, none twice.
"""

import os
import uuid
from datetime import datetime, timedelta

from keel.producers.scheduler import CatchUp, Scheduler
from keel.schemas.demo import GenerateReport

every_second = Scheduler(os.environ.get("KEEL_TEST_SCHEDULER", "keel-test"))
_REQUESTER = uuid.UUID(int=7)


@every_second.every(1, name="tick", catch_up=CatchUp(coalesce=False))
def tick(at: datetime) -> GenerateReport:
    return GenerateReport(
        report_id=uuid.uuid5(_REQUESTER, at.isoformat()),
        kind="tick",
        requested_by=_REQUESTER,
        period_start=at,
        period_end=at + timedelta(seconds=1),
    )
