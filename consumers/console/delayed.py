"""Delayed jobs not yet released, earliest due first: `keel jobs pending` as a page.

The console asks `keel.producers.delayed.pending` for the earliest `limit` jobs; a cluster
without the delayed topic has none pending (nothing was ever published with a delay).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from keel.consumers.console.offsets import topic_names
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.pending import PendingJob, pending_jobs
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings


@dataclass(frozen=True)
class Pending:
    """The jobs shown, and whether the delayed topic exists at all."""

    topic: str
    exists: bool
    jobs: list[PendingJob]


def pending(cluster: ClusterSettings, delayed_topic: str, limit: int, timeout: float) -> Pending:
    if delayed_topic not in topic_names(clients.admin(cluster), timeout):
        return Pending(delayed_topic, exists=False, jobs=[])
    return Pending(delayed_topic, True, pending_jobs(cluster, DelayedNames(delayed_topic), limit))


def due(job: PendingJob) -> str:
    """When `job` is due, as ISO-8601 UTC."""
    return datetime.fromtimestamp(job.due_ms / 1000, UTC).isoformat(timespec="seconds")
