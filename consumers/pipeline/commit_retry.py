"""Committing on revoke, tried again until the drain's deadline.

The revoke's commit is the last chance to record what finished on partitions that are leaving:
a commit lost there means the next owner runs those jobs again. A coordinator that moves, a
broker that restarts or a request that times out is worth another try while the drain's time
lasts; an answer that says this member or generation is over is not (the commit can never
succeed, and the partitions are someone else's already).
"""

import logging
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException

from keel.consumers.pipeline.deadline import Deadline

_LOG = logging.getLogger(__name__)

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 2.0
# The broker will refuse this commit however often it is sent.
FINAL = frozenset(
    {
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.OFFSET_METADATA_TOO_LARGE,
        KafkaError._NO_OFFSET,
    }
)


def commit_until(
    commit: Callable[[], object],
    deadline: Deadline,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call `commit` until it succeeds; returns how many attempts that took.

    Tried at least once, then again after a growing pause while `deadline` leaves room for the
    pause; raises the last error when a retry would be useless (`FINAL`) or out of time.
    """
    backoff = FIRST_BACKOFF
    attempt = 1
    while True:
        try:
            commit()
        except KafkaException as error:
            if _is_final(error) or deadline.remaining(clock) <= backoff:
                raise
            _LOG.warning("commit on revoke failed (attempt %d), retrying: %s", attempt, error)
        else:
            return attempt
        sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)
        attempt += 1


def _is_final(error: KafkaException) -> bool:
    cause = error.args[0] if error.args else None
    return isinstance(cause, KafkaError) and (cause.fatal() or cause.code() in FINAL)


# Kept back from a revoke's running jobs for its commit (and its retries): at most this many
# seconds, and never more than a quarter of the drain.
COMMIT_RESERVE_MAX = 5.0


def commit_reserve(drain_timeout: float) -> float:
    """Seconds of a revoke's `drain_timeout` kept for committing once its jobs' share ends."""
    return min(COMMIT_RESERVE_MAX, drain_timeout / 4)
