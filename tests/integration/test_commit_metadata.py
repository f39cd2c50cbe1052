"""Commit metadata on the broker: what the next owners of a partition read back and skip."""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from confluent_kafka import Consumer, TopicPartition

from keel.consumers import App, Context
from keel.consumers.pipeline.offsets import METADATA_LIMIT, decode_finished, encode_finished
from keel.schemas.demo import SendEmail
from tests.support.cluster import Cluster
from tests.support.commits import Commit, commits
from tests.support.sample import email, seq_of
from tests.support.worker import JobProducer, running, wait_for, worker_settings

HANGS = "1000"  # the key whose jobs a worker may leave running when it hands over
HANGING_OFFSETS = (3, 8, 15)


def test_finished_above_offsets_survive_a_commit_and_read_back(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("metadata", partitions=1)
    finished = [*range(105, 1000, 3), 1500, 1501, 1502, 4000]
    metadata = encode_finished(100, finished)
    assert len(metadata) <= METADATA_LIMIT
    config = {"bootstrap.servers": cluster.bootstrap_servers, "group.id": f"meta-{topic}"}
    writer = Consumer(config)
    try:
        writer.commit(offsets=[TopicPartition(topic, 0, 100, metadata)], asynchronous=False)
    finally:
        writer.close()
    reader = Consumer(config)
    try:
        [back] = reader.committed([TopicPartition(topic, 0)], timeout=30)
    finally:
        reader.close()
    assert back.offset == 100
    assert decode_finished(back.offset, back.metadata) == finished


@dataclass
class Owner:
    """One owner of the partition: the offsets its handler started and finished."""

    started: list[int] = field(default_factory=list)
    finished: set[int] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@contextmanager
def released(owner: Owner) -> Iterator[Owner]:
    """Let the owner's hanging jobs return once it has handed the partition over."""
    try:
        yield owner
    finally:
        owner.release.set()


def app_of(group: str, owner: Owner, hang: bool) -> App:
    """A worker's app whose jobs record their offset (the seq), and hang on `HANGS` if asked."""
    app = App(group)

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        key, offset = seq_of(job)
        owner.started.append(offset)
        if hang and key == HANGS:
            await owner.release.wait()
            return
        owner.finished.add(offset)

    return app


def publish(cluster: Cluster, topic: str, offsets: range) -> None:
    """Jobs whose seq is their offset (a fresh one-partition topic, in order, idempotent)."""
    producer = JobProducer(cluster, topic)
    producer.send_all(email(int(HANGS) if n in HANGING_OFFSETS else n % 7, n) for n in offsets)
    producer.close()


async def test_finished_above_offsets_survive_two_hand_overs(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given one partition of 40 jobs whose key `HANGS` holds offsets 3, 8 and 15
    topic = new_topic("handover", partitions=1)
    group = f"handover-{topic}"
    publish(cluster, topic, range(40))
    settings = worker_settings(
        cluster, [topic], commit_interval=0.05, shutdown_timeout=4.5, drain_timeout=0.3
    )
    others = set(range(60)) - set(HANGING_OFFSETS)
    above = {n for n in others if n > HANGING_OFFSETS[0]}  # finished above the watermark

    # When a first worker finishes every job but the hanging key's, and stops (hand-over 1)
    with released(Owner()) as first:
        async with running(app_of(group, first, hang=True), settings):
            await wait_for(lambda: first.finished >= others & set(range(40)), 30, "first's jobs")
    after_first = commits(cluster, group, topic, 1)[0]
    # And a second worker, which hangs on the same key, runs 20 more jobs and stops (hand-over 2)
    publish(cluster, topic, range(40, 60))
    with released(Owner()) as second:
        async with running(app_of(group, second, hang=True), settings):
            await wait_for(lambda: second.finished >= set(range(40, 60)), 30, "second's jobs")
    after_second = commits(cluster, group, topic, 1)[0]
    # And a third worker runs whatever is left
    third = Owner()
    async with running(app_of(group, third, hang=False), settings):
        await wait_for(lambda: commits(cluster, group, topic, 1)[0].offset == 60, 30, "commit")

    # Then the second worker started only the hanging job and the new ones, none of the first's;
    # the third only the hanging key's jobs, in order; and every job finished exactly once
    assert sorted(second.started) == [3, *range(40, 60)]
    assert third.started == list(HANGING_OFFSETS)
    assert first.finished | second.finished | third.finished == set(range(60))
    assert len(first.finished) + len(second.finished) + len(third.finished) == 60
    # And each hand-over's commit was the hanging job's offset, listing what finished above it
    assert after_first == Commit(3, frozenset(above & set(range(40))))
    assert after_second == Commit(3, frozenset(above))
