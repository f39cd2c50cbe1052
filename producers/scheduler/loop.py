"""The scheduler loop: follow the group, and while leading, publish what is due.

    poll the group (membership and heartbeats; the state records it returns are ignored)
      -> own the state partition: open a term: a transactional producer, whose start fences
         the previous leader's, then the state that leader committed
      -> every tick: `due` per schedule -> one transaction: the jobs and their state records
      -> partition revoked or lost: close the term and stand by
      -> fenced (a newer leader exists): close the term, and open none until the group
         assigns the partition again

Any other failure of a transaction closes the term too; the next tick opens a new one, which
aborts what was left open and re-reads the state, so nothing is published twice or skipped.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from confluent_kafka import KafkaException

from keel.producers.records import RecordBuilder
from keel.producers.scheduler.app import Scheduler
from keel.producers.scheduler.leader import FencedError, Leadership, Parts, Term
from keel.producers.scheduler.state import ensure_state_topic
from keel.producers.settings import ProducerSettings, SchedulerSettings
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.settings import ClusterSettings

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


def run_scheduler(
    scheduler: Scheduler,
    stop: threading.Event,
    *,
    cluster: ClusterSettings | None = None,
    producer_settings: ProducerSettings | None = None,
    settings: SchedulerSettings | None = None,
) -> None:
    """Run `scheduler` until `stop` is set: stand by, or lead and publish what is due.

    Jobs are encoded with the scheduler's own catalog, the job types its schedules return.
    """
    if not scheduler.schedules:
        raise ValueError(f"scheduler {scheduler.name} has no schedules")
    cluster = cluster or ClusterSettings()
    producer_settings = producer_settings or ProducerSettings()
    settings = settings or SchedulerSettings()
    ensure_state_topic(cluster, scheduler.state_topic, producer_settings.replication_factor)
    with clients.registry(cluster) as registry:
        codec = JobCodec(
            registry,
            scheduler.catalog,
            auto_register=producer_settings.auto_register_schemas,
        )
        builder = RecordBuilder(codec, producer_settings)
        builder.prepare()  # an unreachable registry fails here, not at the first fire
        config = {
            **producer_settings.to_confluent(),
            "transaction.timeout.ms": settings.transaction_timeout_ms,
        }
        parts = Parts(
            scheduler, cluster, config, builder, producer_settings.delivery_timeout_ms / 1000
        )
        _Loop(parts, settings).run(stop)


class _Loop:
    def __init__(self, parts: Parts, settings: SchedulerSettings) -> None:
        self._parts = parts
        self._settings = settings
        self._leadership = Leadership()
        self._fenced_in = -1  # the generation in which this process was fenced
        self._term: Term | None = None

    def run(self, stop: threading.Event) -> None:
        scheduler = self._parts.scheduler
        consumer = clients.consumer(
            self._parts.cluster,
            scheduler.group,
            {
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "session.timeout.ms": self._settings.session_timeout_ms,
                **self._settings.librdkafka,
            },
        )
        leadership = self._leadership
        consumer.subscribe(
            [scheduler.state_topic],
            on_assign=leadership.assigned,
            on_revoke=leadership.revoked,
            on_lost=leadership.revoked,
        )
        _LOG.info("%s: standing by (group %s)", scheduler.name, scheduler.group)
        try:
            wait = self._settings.tick_s
            while not stop.is_set():
                consumer.poll(wait)
                wait = self._step()
        finally:
            self._end_term()
            consumer.close()

    def _step(self) -> float:
        """Act on the group's latest word; returns how long to wait before the next step."""
        leadership, tick = self._leadership, self._settings.tick_s
        if not leadership.held:
            self._end_term()
            return tick
        if self._term is None and leadership.generation > self._fenced_in:
            self._term = self._attempt(lambda: Term.open(self._parts))
        term = self._term
        if term is None or self._attempt(lambda: term.fire_due(datetime.now(UTC))) is None:
            return tick
        return min(tick, max(0.0, (term.next_fire() - datetime.now(UTC)).total_seconds()))

    def _attempt(self, action: Callable[[], T]) -> T | None:
        """Run a term's action; on failure end the term (and on fencing, stand by)."""
        try:
            return action()
        except FencedError as error:
            _LOG.warning("%s: %s; standing by", self._parts.scheduler.name, error)
            self._fenced_in = self._leadership.generation
        except (KafkaException, TimeoutError) as error:
            _LOG.warning(
                "%s: term failed (%s); opening a new one", self._parts.scheduler.name, error
            )
        self._end_term()
        return None

    def _end_term(self) -> None:
        if self._term is not None:
            self._term.close()
            self._term = None
            _LOG.info("%s: no longer leading", self._parts.scheduler.name)
