"""Cancelling a pending delayed job: a record keyed by its job id in the cancels topic.

The dispatcher reads the whole cancels topic when its term opens and follows it from then on,
holding the ids in a set. When it comes to a cancelled job it drops it and, in the same
transaction, writes a tombstone for the id, so compaction forgets both and the set holds only
cancels still waiting for their job. A cancel for a job that was already released, or never
existed, ages out with the topic's retention (the longest delay, plus a margin).
"""

from confluent_kafka import Message

from keel.producers.delayed.names import DelayedNames
from keel.producers.records import Record

CANCELLED = b"cancelled"
# Older than the longest delay a tier can hold, so a cancel outlives the job it is for.
RETENTION_MS = 100 * 86_400_000
CANCELS_CONFIG = {"cleanup.policy": "compact,delete", "retention.ms": str(RETENTION_MS)}
DELAYED_CONFIG = {"retention.ms": str(RETENTION_MS)}


def cancel_record(names: DelayedNames, job_id: str) -> Record:
    """The record that asks the dispatcher not to release job `job_id`."""
    return Record(job_id, names.cancels, job_id.encode(), CANCELLED, [], 0)


def follow(cancelled: set[str], message: Message) -> None:
    """Take one record of the cancels topic into the set: a cancel, or its tombstone."""
    key = message.key()
    if key is None:
        return
    job_id = key.decode() if isinstance(key, bytes) else key
    if message.value() is None:
        cancelled.discard(job_id)
    else:
        cancelled.add(job_id)
