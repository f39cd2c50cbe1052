"""The topics a load run makes on the broker, and taking them away when the run ends.

Each run publishes to a topic of its own (`load.<scenario>.<run id>`) with its dead-letter
topic, and each of its rounds runs a fresh consumer group, whose workers make the group's
quarantine topic (`keel.quarantine.<group>`). Left behind, they add up: a local broker that had
served a day of benchmarks held 1,300 topics and 6,900 partitions, almost all of them from
finished runs, and every run's `list_topics` and the broker's own housekeeping went over all of
them. So a run deletes what it made when it ends, whether it passed or not: its topics, and the
quarantine topics and committed offsets of its groups, found by the run id that every group
name carries. `keep` (`keel load run --keep-topics`) leaves them, to read the records or the
dead letters afterwards.

The benches delete theirs the same way: their topics with `delete_topics`, and what the
workers of a group of their own made with `delete_groups`. Deleting is best effort: a failure
is logged, never raised, so it cannot hide the result.
"""

import logging
import uuid
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from keel.load.catalog import load_catalog
from keel.load.config import RunConfig
from keel.load.jobs import LoadJob
from keel.load.rounds import Topic
from keel.producers.topics import ensure_topics, with_dead_letters
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic, quarantine_topic

_LOG = logging.getLogger(__name__)
_TIMEOUT_S = 30.0


def create_topic(cluster: ClusterSettings, config: RunConfig) -> Topic:
    """A fresh topic for one run, with its dead-letter topic."""
    run_id = uuid.uuid4().hex[:8]
    name = f"load.{config.scenario}.{run_id}"
    admin = clients.admin(cluster)
    ensure_topics(admin, with_dead_letters({name: config.partitions}))
    # Registered up front, as CI registers a service's schemas: the workers then resolve the
    # schema before their first poll (`keel.consumers.reader_warm_up`), as they would in one.
    with clients.registry(cluster) as registry:
        JobCodec(registry, load_catalog()).prepare(LoadJob, name)
    return Topic(name, config.partitions, run_id)


@contextmanager
def run_topic(cluster: ClusterSettings, config: RunConfig) -> Iterator[Topic]:
    """`create_topic`, and on the way out `remove_run_topics` unless `config.keep_topics`."""
    topic = create_topic(cluster, config)
    try:
        yield topic
    finally:
        if not config.keep_topics:
            remove_run_topics(cluster, topic)


def remove_run_topics(cluster: ClusterSettings, topic: Topic) -> list[str]:
    """Delete the run's topics and its groups' quarantine topics and offsets; the topics gone."""
    admin = clients.admin(cluster)
    existing = _listed_topics(admin)
    if existing is None:
        return []
    # By the topics, not the groups: a worker makes its quarantine topic before it joins.
    prefix = quarantine_topic("")
    held = [name for name in existing if topic.owns_group(name.removeprefix(prefix))]
    deleted = _delete(admin, [topic.name, dead_letter_topic(topic.name), *held], existing)
    try:
        listed = admin.list_consumer_groups().result(timeout=_TIMEOUT_S).valid
    except (KafkaException, TimeoutError) as error:  # e.g. allowed to delete, not to list
        _LOG.warning("cannot list the groups of run %s, so they stay: %s", topic.run_id, error)
        return deleted
    _delete_groups(admin, [group.group_id for group in listed if topic.owns_group(group.group_id)])
    return deleted


def delete_topics(cluster: ClusterSettings, names: list[str]) -> list[str]:
    """Delete those of `names` that exist (best effort, as above); the ones deleted."""
    admin = clients.admin(cluster)
    existing = _listed_topics(admin)
    return [] if existing is None else _delete(admin, names, existing)


def delete_groups(cluster: ClusterSettings, groups: list[str]) -> list[str]:
    """Delete the quarantine topics and the offsets of worker `groups` (best effort); the topics.

    For a bench that ran a worker in a group of its own: the worker made the group's
    quarantine topic when it started, and committed the group's offsets as it ran.
    """
    admin = clients.admin(cluster)
    existing = _listed_topics(admin)
    held = [quarantine_topic(group) for group in groups]
    deleted = [] if existing is None else _delete(admin, held, existing)
    _delete_groups(admin, groups)
    return deleted


def _listed_topics(admin: AdminClient) -> Collection[str] | None:
    """The cluster's topic names; None (logged) when it cannot say."""
    try:
        return admin.list_topics(timeout=_TIMEOUT_S).topics.keys()
    except KafkaException as error:
        _LOG.warning("cannot list the topics, so none is deleted: %s", error)
        return None


def _delete(admin: AdminClient, names: list[str], existing: Collection[str]) -> list[str]:
    doomed = [name for name in dict.fromkeys(names) if name in existing]
    if not doomed:
        return []
    return _settle("topic", admin.delete_topics(doomed, operation_timeout=_TIMEOUT_S))


def _delete_groups(admin: AdminClient, groups: list[str]) -> None:
    if groups:
        _settle("group", admin.delete_consumer_groups(groups, request_timeout=_TIMEOUT_S))


def _settle(kind: str, futures: Mapping[str, "Future[None]"]) -> list[str]:
    """The names whose deletion succeeded; each failure is logged."""
    done = []
    for name, future in futures.items():
        try:
            future.result(timeout=_TIMEOUT_S)
        except Exception as error:  # best effort: logged, never raised
            _LOG.warning("could not delete %s %s: %s", kind, name, error)
        else:
            done.append(name)
    return done
