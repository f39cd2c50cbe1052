"""Job status and results, from the publisher's side: `queued`, lookups, `result()`.

    queued.QueuedWriter   a publisher's `queued` status for each tracked job it sends
    lookup.StatusReader   a status by job id: seek to the id's time, read forward
    results.outcome       a final status -> the decoded result, or `JobFailedError` & co
    cli                   `keel jobs status ID [--json]`

The console and any other tool need only `StatusReader(ClusterSettings())`.
"""

from keel.producers.status.errors import (
    JobFailedError,
    NoResultError,
    ResultError,
    ResultTimeoutError,
)
from keel.producers.status.lookup import StatusReader

__all__ = [
    "JobFailedError",
    "NoResultError",
    "ResultError",
    "ResultTimeoutError",
    "StatusReader",
]
