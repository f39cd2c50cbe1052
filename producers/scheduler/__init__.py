"""Periodic jobs, each fire time published once however many scheduler processes run.

    app        Scheduler: a named set of schedules, its catalog, its state topic and group
    triggers   when: Every, Cron, the catch-up policy (CatchUp), Schedule, and `due`
    loop       run_scheduler: follow the group, stand by or lead, tick
    leader     a leader's Term: fence the previous leader, publish each fire in a transaction
    state      how far each schedule has fired, in a compacted topic; deterministic fire ids
    cli        `keel scheduler run|status module:scheduler`

A service declares a `Scheduler` (with the catalog of the job types it returns, as its `App`
does) and decorates job factories with `every` or `cron`; `keel scheduler run` runs it.
"""

from keel.producers.scheduler.app import Scheduler
from keel.producers.scheduler.loop import run_scheduler
from keel.producers.scheduler.triggers import CatchUp, Cron, Every, Schedule

__all__ = ["CatchUp", "Cron", "Every", "Schedule", "Scheduler", "run_scheduler"]
