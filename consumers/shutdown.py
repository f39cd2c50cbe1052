"""One bound for the whole SIGTERM path, and a watchdog that holds the process to it.

On SIGTERM the worker turns not ready, starts nothing new, and then shares one deadline,
`shutdown_timeout` seconds away, between the steps that follow:

    running jobs finish     until the deadline less `closing_reserve` (below)
    final commit            what finished, committed
    consumer close          its revoke drains nothing more (jobs had their share) and commits,
                            retrying a failed commit while time is left
    dead letters flushed    the producer's outstanding writes acknowledged
    telemetry, health       the last metric export, the HTTP endpoint

If anything still holds the process at the deadline (a sync handler's thread that never
returns, a broker that does not answer a close), the watchdog ends it: nothing unfinished was
committed, so those jobs run again on the partitions' next owner. The pod's
`terminationGracePeriodSeconds` must be at least `shutdown_timeout + TERMINATION_MARGIN`
(tests/unit/deploy/test_k8s.py checks every overlay).
"""

import logging
import os
import threading

from keel.consumers.pipeline.deadline import Deadline

_LOG = logging.getLogger(__name__)

# What the pod needs beyond `shutdown_timeout`: the watchdog's exit, the kubelet noticing it,
# and slack for a loaded node. The manifests have no preStop hook; one would add its own time.
TERMINATION_MARGIN = 10.0
# Kept back from the running jobs for the steps after them (commit, close, flush): at most this
# many seconds, and never more than a third of the bound.
CLOSING_RESERVE_MAX = 10.0
EXIT_TIMED_OUT = 1


def closing_reserve(timeout: float) -> float:
    """Seconds of `timeout` kept for committing and closing once the running jobs' share ends."""
    return min(CLOSING_RESERVE_MAX, timeout / 3)


def jobs_deadline(deadline: Deadline, timeout: float) -> Deadline:
    """Until when running jobs may finish on the way out."""
    return deadline.earlier(closing_reserve(timeout))


class Watchdog:
    """Ends the process at `deadline` unless it has exited by then."""

    def __init__(self, deadline: Deadline, timeout: float) -> None:
        self._deadline = deadline
        self._timeout = timeout
        self._thread = threading.Thread(target=self._watch, name="keel-shutdown", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        # A daemon thread: if the process exits first, this sleep simply ends with it.
        threading.Event().wait(self._deadline.remaining())
        _LOG.error(
            "shutdown_timeout (%.0f s) passed with work still holding the process: exiting now;"
            " jobs not committed run again on the partitions' next owner",
            self._timeout,
        )
        logging.shutdown()
        os._exit(EXIT_TIMED_OUT)
