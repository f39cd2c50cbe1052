"""Consumer groups as the console shows them: state and members, then per-partition lag.

Lag is the partition's end offset minus the group's committed offset. Time-lag is how long
the record at the committed offset (the oldest one the group has not finished) has waited:
now minus its timestamp. It is read by fetching just that one record per lagging partition;
a partition the group is caught up on has a time-lag of zero without any read.

Offsets are not all jobs: a transaction's commit marker takes one, and so do the records of an
aborted transaction, which no worker is ever given. A worker commits past them once it has
polled past them (`keel.consumers.pipeline.markers`); one that stopped first (or an older
keel) leaves them between its commit and the end. When the read finds no record from the
committed offset to the end, the lag is shown as 0 and `only_markers` says why.
"""

import time
from dataclasses import dataclass, field

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from keel.consumers.console.offsets import end_offsets
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

# Per lagging partition, its oldest unfinished record's timestamp (ms); None: markers alone.
Stamps = dict[tuple[str, int], int | None]
GROUP = "keel-console"  # librdkafka requires one; the console never joins it or commits


@dataclass(frozen=True)
class GroupRow:
    """One consumer group in the list."""

    group_id: str
    state: str
    members: int


@dataclass(frozen=True)
class Member:
    """One member of a group and the partitions assigned to it."""

    client_id: str
    host: str
    member_id: str
    partitions: list[str]


@dataclass(frozen=True)
class PartitionLag:
    """How far the group is behind on one partition."""

    topic: str
    partition: int
    committed: int | None
    end: int
    owner: str | None
    time_lag_s: float | None = None
    # Between the committed offset and the end there is nothing to run: markers, aborted records.
    only_markers: bool = False

    @property
    def lag(self) -> int | None:
        if self.committed is None:
            return None
        return 0 if self.only_markers else max(self.end - self.committed, 0)


@dataclass(frozen=True)
class GroupDetail:
    """A group's members and its lag per partition."""

    group_id: str
    state: str
    members: list[Member]
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)


def list_groups(cluster: ClusterSettings, timeout: float) -> list[GroupRow]:
    """Every consumer group, by id, with its state and member count."""
    admin = clients.admin(cluster)
    listing = admin.list_consumer_groups(request_timeout=timeout).result(timeout)
    ids = sorted(group.group_id for group in listing.valid)
    if not ids:
        return []
    described = admin.describe_consumer_groups(ids, request_timeout=timeout)
    rows = []
    for group_id in ids:
        about = described[group_id].result(timeout)
        rows.append(GroupRow(group_id, _state(about.state), len(about.members)))
    return rows


def describe(cluster: ClusterSettings, group_id: str, timeout: float) -> GroupDetail:
    """The members of `group_id` and its lag and time-lag on every partition it committed."""
    admin = clients.admin(cluster)
    about = admin.describe_consumer_groups([group_id], request_timeout=timeout)[group_id]
    about = about.result(timeout)
    members = [_member(m) for m in about.members]
    owners = {p: m.client_id for m in members for p in m.partitions}
    committed = _committed(admin, group_id, timeout)
    wanted = set(committed) | {_parse(p) for m in members for p in m.partitions}
    ends = end_offsets(admin, wanted, timeout)
    lags = [
        PartitionLag(t, p, committed.get((t, p)), ends.get((t, p), 0), owners.get(f"{t}/{p}"))
        for t, p in sorted(wanted)
    ]
    return GroupDetail(
        group_id, _state(about.state), members, _with_time_lag(cluster, lags, timeout)
    )


def _state(state: object) -> str:
    return str(getattr(state, "name", state)).lower().replace("_", " ")


def _member(member: object) -> Member:
    assigned = getattr(getattr(member, "assignment", None), "topic_partitions", None) or []
    return Member(
        getattr(member, "client_id", ""),
        getattr(member, "host", ""),
        getattr(member, "member_id", ""),
        sorted(f"{tp.topic}/{tp.partition}" for tp in assigned),
    )


def _parse(name: str) -> tuple[str, int]:
    topic, _, partition = name.rpartition("/")
    return topic, int(partition)


def _committed(admin: AdminClient, group_id: str, timeout: float) -> dict[tuple[str, int], int]:
    asked = [ConsumerGroupTopicPartitions(group_id)]
    found = admin.list_consumer_group_offsets(asked, request_timeout=timeout)[group_id]
    return {
        (tp.topic, tp.partition): int(tp.offset)
        for tp in found.result(timeout).topic_partitions or []
        if tp.offset >= 0
    }


def _with_time_lag(
    cluster: ClusterSettings, lags: list[PartitionLag], timeout: float
) -> list[PartitionLag]:
    behind = [lag for lag in lags if lag.lag]
    stamps = _oldest_unfinished(cluster, behind, timeout) if behind else {}
    now_ms = time.time() * 1000
    return [_timed(lag, stamps, now_ms) for lag in lags]


def _timed(lag: PartitionLag, stamps: Stamps, now_ms: float) -> PartitionLag:
    if lag.lag == 0:
        return PartitionLag(lag.topic, lag.partition, lag.committed, lag.end, lag.owner, 0.0)
    where = (lag.topic, lag.partition)
    if where not in stamps:
        return lag
    stamp = stamps[where]
    if stamp is None:
        return PartitionLag(lag.topic, lag.partition, lag.committed, lag.end, lag.owner, 0.0, True)
    waited = max(now_ms - stamp, 0) / 1000
    return PartitionLag(lag.topic, lag.partition, lag.committed, lag.end, lag.owner, waited)


def _oldest_unfinished(
    cluster: ClusterSettings, behind: list[PartitionLag], timeout: float
) -> Stamps:
    """The timestamp (ms) of the record at each partition's committed offset.

    None for a partition whose reader got to the end without a record (markers alone).
    """
    consumer = clients.consumer(
        cluster, GROUP, {"enable.auto.commit": False, "fetch.max.bytes": 1024 * 1024}
    )
    try:
        consumer.assign([TopicPartition(p.topic, p.partition, p.committed or 0) for p in behind])
        stamps: Stamps = {}
        deadline = time.monotonic() + timeout
        while len(stamps) < len(behind) and time.monotonic() < deadline:
            for message in consumer.consume(len(behind), 0.2):
                where = (message.topic() or "", message.partition() or 0)
                if message.error() is None and where not in stamps:
                    stamps[where] = message.timestamp()[1]
            stamps.update(dict.fromkeys(passed_the_end(consumer, behind, stamps)))
        return stamps
    finally:
        consumer.close()


def passed_the_end(
    consumer: Consumer, behind: list[PartitionLag], found: Stamps
) -> list[tuple[str, int]]:
    """The partitions without a record found whose reader's position reached the end.

    librdkafka's position moves past markers and aborted records, which it never delivers.
    """
    missing = [p for p in behind if (p.topic, p.partition) not in found]
    if not missing:
        return []
    ends = {(p.topic, p.partition): p.end for p in missing}
    positions = consumer.position([TopicPartition(p.topic, p.partition) for p in missing])
    return [
        (tp.topic, tp.partition) for tp in positions if tp.offset >= ends[(tp.topic, tp.partition)]
    ]
