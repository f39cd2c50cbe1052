"""The dispatcher loop: follow the group, and while leading, release what is due.

    poll the group (a consumer group on the cancels topic, one partition: its owner leads)
      -> own it: open a term (transactional producer: fences the previous leader; tiers
         assigned from the committed offsets; cancels read to the end)
      -> every step: the records whose time has come -> one transaction with their offsets
      -> partition revoked or lost: close the term and stand by
      -> fenced: close the term, and open none until the group assigns the partition again

This is the scheduler's election (`keel.producers.scheduler.leader.Leadership`) and fencing,
over the dispatcher's own names. Any other failure ends the term; the next one aborts what was
left open and resumes from the committed offsets, so nothing is released twice or lost.
"""

import contextlib
import logging
import threading
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from keel.producers.delayed.cancels import CANCELS_CONFIG, DELAYED_CONFIG
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.settings import DispatcherSettings
from keel.producers.delayed.status import Counts, DispatcherStatus
from keel.producers.delayed.term import DispatchParts, DispatchTerm
from keel.producers.delayed.timing import TIERS
from keel.producers.scheduler.terms import Terms
from keel.producers.settings import ProducerSettings
from keel.producers.topics import TopicReport, ensure_topics
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_LOG = logging.getLogger(__name__)
_LEADERS_WAIT_S = 30.0
_PENDING_EVERY_S = 5.0


def ensure_delayed_topics(cluster: ClusterSettings, settings: ProducerSettings) -> TopicReport:
    """The delayed topic (a partition per tier) and its compacted cancels topic."""
    names, admin = DelayedNames(settings.delayed_topic), clients.admin(cluster)
    rf = settings.replication_factor
    report = ensure_topics(admin, {names.topic: TIERS}, rf, config=DELAYED_CONFIG)
    cancels = ensure_topics(admin, {names.cancels: 1}, rf, config=CANCELS_CONFIG)
    report.add(cancels)
    _wait_for_leaders(admin, [names.topic, names.cancels])
    return report


def _wait_for_leaders(admin: AdminClient, topics: list[str]) -> None:
    """Until every partition of `topics` has a leader: a topic just created may not, for a while."""
    deadline = time.monotonic() + _LEADERS_WAIT_S
    while time.monotonic() < deadline:
        found = admin.list_topics(timeout=_LEADERS_WAIT_S).topics
        ready = [
            t in found
            and found[t].error is None
            and found[t].partitions
            and all(p.leader >= 0 for p in found[t].partitions.values())
            for t in topics
        ]
        if all(ready):
            return
        time.sleep(0.2)


def run_dispatcher(
    stop: threading.Event,
    *,
    cluster: ClusterSettings | None = None,
    producer_settings: ProducerSettings | None = None,
    settings: DispatcherSettings | None = None,
    status: DispatcherStatus | None = None,
) -> Counts:
    """Stand by, or lead and release due delayed jobs, until `stop` is set; returns the counts.

    `status`, if given, is kept up to date for the health endpoints (`health.serve_health`).
    """
    cluster = cluster or ClusterSettings()
    producer_settings = producer_settings or ProducerSettings()
    settings = settings or DispatcherSettings()
    ensure_delayed_topics(cluster, producer_settings)
    config = {
        **producer_settings.to_confluent(),
        "transaction.timeout.ms": settings.transaction_timeout_ms,
    }
    parts = DispatchParts(
        DelayedNames(producer_settings.delayed_topic),
        cluster,
        config,
        settings,
        producer_settings.delivery_timeout_ms / 1000,
        producer_settings.status,
    )
    loop = _Loop(parts, status or DispatcherStatus())
    loop.run(stop)
    return loop.counts


class _Loop:
    def __init__(self, parts: DispatchParts, status: DispatcherStatus) -> None:
        self._parts = parts
        self._status = status
        self.counts = status.counts
        self._pending_at = 0.0
        self._terms: Terms[DispatchTerm] = Terms(
            f"dispatcher {parts.names.topic}", on_end=lambda: str(self.counts)
        )

    def run(self, stop: threading.Event) -> None:
        names, settings = self._parts.names, self._parts.settings
        consumer = clients.consumer(
            self._parts.cluster,
            names.leader_group,
            {
                "enable.auto.commit": False,
                "session.timeout.ms": settings.session_timeout_ms,
                **settings.librdkafka,
            },
        )
        leadership = self._terms.leadership
        consumer.subscribe(
            [names.cancels],
            on_assign=leadership.assigned,
            on_revoke=leadership.revoked,
            on_lost=leadership.revoked,
        )
        _LOG.info("dispatcher %s: standing by (group %s)", names.topic, names.leader_group)
        try:
            while not stop.is_set():
                consumer.poll(0 if self._terms.current is not None else settings.tick_s)
                self._step()
        finally:
            self._terms.end()
            consumer.close()

    def _step(self) -> None:
        """Act on the group's latest word, then do one step of the term, if any."""
        term = self._terms.open(lambda: DispatchTerm.open(self._parts))
        if term is not None:
            wait = term.wait_s(self._parts.settings.tick_s)
            self._terms.attempt(lambda: term.step(wait, self.counts))
        self._report(self._terms.current)

    def _report(self, term: DispatchTerm | None) -> None:
        """Tell the status what this turn found; the tiers' backlog every few seconds."""
        status = self._status
        status.leading = self._terms.leadership.held
        status.term_open = term is not None
        status.turned()
        if term is None:
            status.pending = {}
        elif time.monotonic() - self._pending_at >= _PENDING_EVERY_S:
            self._pending_at = time.monotonic()
            with contextlib.suppress(KafkaException):  # a gauge, not worth ending a term for
                status.pending = term.pending()
