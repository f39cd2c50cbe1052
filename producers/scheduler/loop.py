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
from datetime import UTC, datetime

from keel.producers.records import RecordBuilder
from keel.producers.scheduler.app import Scheduler
from keel.producers.scheduler.leader import Parts, Term
from keel.producers.scheduler.state import ensure_state_topic
from keel.producers.scheduler.terms import Terms
from keel.producers.settings import ProducerSettings, SchedulerSettings
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.settings import ClusterSettings

_LOG = logging.getLogger(__name__)


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
        self._terms: Terms[Term] = Terms(parts.scheduler.name)

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
        leadership = self._terms.leadership
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
            self._terms.end()
            consumer.close()

    def _step(self) -> float:
        """Act on the group's latest word; returns how long to wait before the next step."""
        terms, tick = self._terms, self._settings.tick_s
        term = terms.open(lambda: Term.open(self._parts))
        if term is None or terms.attempt(lambda: term.fire_due(datetime.now(UTC))) is None:
            return tick
        return min(tick, max(0.0, (term.next_fire() - datetime.now(UTC)).total_seconds()))
