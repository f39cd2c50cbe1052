"""`keel jobs pending`: the delayed jobs not yet released, earliest due first.

Reads every tier from the dispatcher's committed offsets to its end (read_committed, so what a
dispatcher is releasing right now is either still listed or already gone, never both), skips
cancelled jobs, and keeps only the `limit` earliest in a heap: memory grows with `limit` and
the cancels outstanding, not with the number of pending jobs.
"""

import heapq
import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from keel.producers.delayed.cancels import follow
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.records import Waiting
from keel.producers.delayed.timing import TIERS
from keel.schemas import clients
from keel.schemas.headers import DELAYED_FOR_TOPIC, JOB_TYPE, header_value
from keel.schemas.settings import ClusterSettings

_TIMEOUT_S = 30.0


@dataclass(frozen=True, order=True)
class PendingJob:
    """One delayed job as `keel jobs pending` shows it."""

    due_ms: int
    job_id: str
    job_type: str
    topic: str
    key: str | None

    @classmethod
    def of(cls, waiting: Waiting) -> "PendingJob":
        headers = waiting.headers
        return cls(
            waiting.due,
            waiting.job_id,
            (header_value(headers, JOB_TYPE) or b"").decode(),
            (header_value(headers, DELAYED_FOR_TOPIC) or b"").decode(),
            None if waiting.key is None else waiting.key.decode(errors="replace"),
        )


def pending_jobs(cluster: ClusterSettings, names: DelayedNames, limit: int) -> list[PendingJob]:
    """The `limit` earliest-due pending jobs of the delayed topic `names.topic`, in due order."""
    reader = clients.consumer(
        cluster,
        names.progress_group,  # read its committed offsets; this reader never commits
        {"enable.auto.commit": False, "isolation.level": "read_committed"},
    )
    try:
        cancelled: set[str] = set()
        _read(reader, [TopicPartition(names.cancels, 0, OFFSET_BEGINNING)], cancelled, None, 0)
        found: list[tuple[int, str, PendingJob]] = []  # a max-heap on due, by negation
        _read(reader, _from_committed(reader, names.topic), cancelled, found, limit)
    finally:
        reader.close()
    return sorted(job for _, _, job in found)


def _from_committed(reader: Consumer, topic: str) -> list[TopicPartition]:
    tiers = [TopicPartition(topic, p) for p in range(TIERS)]
    committed = reader.committed(tiers, timeout=_TIMEOUT_S)
    return [
        TopicPartition(topic, t.partition, t.offset if t.offset >= 0 else OFFSET_BEGINNING)
        for t in committed
    ]


def _read(
    reader: Consumer,
    partitions: list[TopicPartition],
    cancelled: set[str],
    found: list[tuple[int, str, PendingJob]] | None,
    limit: int,
) -> None:
    marks = {p.partition: reader.get_watermark_offsets(p, timeout=_TIMEOUT_S) for p in partitions}
    ends = {partition: end for partition, (_, end) in marks.items()}
    # Nothing to read where the start is the end; position() would say nothing there.
    open_ = [p for p in partitions if max(p.offset, marks[p.partition][0]) < ends[p.partition]]
    reader.assign(partitions)
    deadline = time.monotonic() + _TIMEOUT_S
    while open_:
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not read {partitions[0].topic} to its end")
        message = reader.poll(0.2)
        if message is not None and message.error() is None:
            if found is None:
                follow(cancelled, message)
            else:
                _keep(found, Waiting.of(message), cancelled, limit)
        positions = reader.position(open_)
        open_ = [p for p in positions if p.offset < ends[p.partition]]
    reader.unassign()


def _keep(
    found: list[tuple[int, str, PendingJob]], waiting: Waiting, cancelled: set[str], limit: int
) -> None:
    if waiting.job_id in cancelled:
        return
    entry = (-waiting.due, waiting.job_id, PendingJob.of(waiting))
    if len(found) < limit:
        heapq.heappush(found, entry)
    elif entry > found[0]:
        heapq.heapreplace(found, entry)
