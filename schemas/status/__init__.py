"""Job status and results: what a worker last recorded about a job, kept by job id.

    publisher --queued--------> keel.status <--running, retrying, parked, done,
    (producers.status.queued)       ^   |        dead_lettered, expired-- worker
    dispatcher --cancelled----------+   |        (consumers.status.recorder)
    (producers.delayed.job_status)      v
                 producers.status.lookup: seek to the id's time, read forward, latest wins

`settings.StatusSettings` names the topic, its retention and which job types are tracked;
`record` is the status as a value (JSON, the result as framed Avro inside) and the pure rules a
lookup follows. docs/status.md says what each state means and where a status can trail the truth.
"""

from keel.schemas.status.record import JobState, JobStatus, Unknown
from keel.schemas.status.settings import StatusSettings, is_tracked

__all__ = ["JobState", "JobStatus", "StatusSettings", "Unknown", "is_tracked"]
