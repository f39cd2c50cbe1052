"""A topic's partitions and their first and end offsets, asked of the cluster in one request.

Every page that counts records (lag, rates, the dead-letter list's paging) starts here: one
metadata request, then one `ListOffsets` for all partitions at once, rather than a watermark
query per partition.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

# confluent_kafka.admin re-exports OffsetSpec without declaring it, and leaves its factories
# unannotated: taken from the module that defines it, and called once here.
from confluent_kafka.admin._listoffsets import OffsetSpec

_EARLIEST: OffsetSpec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
_LATEST: OffsetSpec = OffsetSpec.latest()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, order=True)
class Span:
    """The offsets one partition holds: `start` (inclusive) to `end` (exclusive)."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        """How many offsets (an upper bound on records: compaction and markers leave gaps)."""
        return max(self.end - self.start, 0)


def topic_names(admin: AdminClient, timeout: float) -> dict[str, list[int]]:
    """Every topic the cluster shows this client, with its partitions."""
    topics = admin.list_topics(timeout=timeout).topics
    return {
        name: sorted(meta.partitions)
        for name, meta in topics.items()
        if meta.error is None and not name.startswith("__")
    }


def end_offsets(
    admin: AdminClient, partitions: Iterable[tuple[str, int]], timeout: float
) -> dict[tuple[str, int], int]:
    """The end offset (the next offset to be written) of each partition."""
    return _offsets(admin, partitions, _LATEST, timeout)


def spans(admin: AdminClient, topics: dict[str, list[int]], timeout: float) -> list[Span]:
    """Each partition of `topics`, in topic then partition order, with its offsets."""
    wanted = [(topic, p) for topic in sorted(topics) for p in topics[topic]]
    starts = _offsets(admin, wanted, _EARLIEST, timeout)
    ends = _offsets(admin, wanted, _LATEST, timeout)
    return [Span(t, p, starts.get((t, p), 0), ends.get((t, p), 0)) for t, p in wanted]


def _offsets(
    admin: AdminClient, partitions: Iterable[tuple[str, int]], spec: OffsetSpec, timeout: float
) -> dict[tuple[str, int], int]:
    asked = {TopicPartition(topic, p): spec for topic, p in partitions}
    if not asked:
        return {}
    futures = admin.list_offsets(asked, request_timeout=timeout)
    return {
        (tp.topic, tp.partition): int(future.result(timeout).offset)
        for tp, future in futures.items()
    }
