"""The `cancelled` status of a tracked delayed job, written by the dispatcher that drops it.

A cancel takes effect only when the dispatcher comes to the job and drops it, so that is where
its status is written: in the same transaction as the drop and the tier's offset past it, so the
status is visible exactly when the cancel is durable (an aborted term writes neither).

The dispatcher knows no job models and no service's `KEEL_STATUS_TRACK`, so it goes by what the
publisher decided: a job whose type is tracked waits with `keel-status-tracked` (its publisher
wrote its `queued`), and only such a job gets a `cancelled`. Delayed jobs published before that
header existed get none.

A status must never stall the releases: a transaction that writes to a topic it may not is
refused, and would be again after every restart of the term. So the first tracked cancel of a
term looks the status topic up, with the operations this principal has on it; without the
topic, or without Write, the term logs it once and writes no `cancelled`.
"""

import logging
from collections.abc import Callable, Iterable

from confluent_kafka import KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient

# The typed module behind confluent_kafka.admin's untyped re-export.
from confluent_kafka.admin._acl import AclOperation

from keel.producers.delayed.records import Waiting
from keel.schemas.headers import JOB_TYPE, header_value
from keel.schemas.status.record import JobStatus, encode, partition_of
from keel.schemas.status.settings import StatusSettings

_LOG = logging.getLogger(__name__)
REASON = "cancelled before its release"
_WRITES = frozenset({AclOperation.WRITE, AclOperation.ALL})


def cancelled(waiting: Waiting, now_ms: int) -> JobStatus:
    """The status of a delayed job dropped for its cancel."""
    job_type = header_value(waiting.headers, JOB_TYPE)
    return JobStatus(
        waiting.job_id,
        "cancelled",
        job_type=job_type.decode("utf-8", "replace") if job_type else None,
        at_ms=now_ms,
        reason=REASON,
    )


def may_write(operations: Iterable[AclOperation] | None) -> bool:
    """Whether the operations a broker reports allow a write; None (not reported) allows it."""
    return operations is None or bool(_WRITES & set(operations))


class CancelledStatuses:
    """Writes the `cancelled` of the tracked jobs one term drops, in that term's transactions."""

    def __init__(
        self, admin: Callable[[], AdminClient], settings: StatusSettings, timeout_s: float
    ) -> None:
        """`admin()` opens an admin client: called once, at the term's first tracked cancel."""
        self._admin = admin
        self._settings = settings
        self._timeout_s = timeout_s
        self._partitions: int | None = None
        self._looked_up = False

    def write(self, producer: Producer, waiting: Waiting, now_ms: int) -> None:
        """Produce the `cancelled` of `waiting` into the open transaction, if it is tracked."""
        if not waiting.tracked:
            return
        partitions = self._partition_count()
        if partitions is None:
            return
        job_id = waiting.job_id
        producer.produce(
            self._settings.topic,
            encode(cancelled(waiting, now_ms)),
            job_id.encode(),
            partition=partition_of(job_id, partitions),
        )

    def _partition_count(self) -> int | None:
        if not self._looked_up:
            self._looked_up = True
            self._partitions = self._look_up()
        return self._partitions

    def _look_up(self) -> int | None:
        topic = self._settings.topic
        admin = self._admin()  # held until the answer: a client collected earlier cancels it
        try:
            futures = admin.describe_topics(
                TopicCollection([topic]),
                include_authorized_operations=True,
                request_timeout=self._timeout_s,
            )
            found = futures[topic].result()
        except KafkaException as error:
            why = error.args[0].str() if error.args else str(error)
            _LOG.warning(
                "status topic %s not found (%s): no cancelled status is written", topic, why
            )
            return None
        if not may_write(found.authorized_operations):
            _LOG.warning("not authorized to Write topic %s: no cancelled status is written", topic)
            return None
        return len(found.partitions) or None
