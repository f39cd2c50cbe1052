"""When a leader's terms open and end: shared by the scheduler and the delayed-job dispatcher.

Both follow a consumer group on a one-partition topic (`Leadership`): its owner leads. While
the group says this process leads, a term is open (`open`); an action of the term that fails
ends it (`attempt`), and the next step opens a new one, which aborts what the old one left open.
A fenced term (`FencedError`: a newer leader exists) ends too, and no new one opens until the
group elects this process again, in a later generation.
"""

import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from confluent_kafka import KafkaException

from keel.producers.scheduler.leader import FencedError, Leadership

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Closable(Protocol):
    def close(self) -> None: ...


TermT = TypeVar("TermT", bound=Closable)


class Terms(Generic[TermT]):
    """One process's terms as leader; `label` names the process in log lines."""

    def __init__(self, label: str, on_end: Callable[[], str] = str) -> None:
        """`on_end` says what the ended term did, for its log line (nothing by default)."""
        self.leadership = Leadership()
        self._label = label
        self._on_end = on_end
        self._fenced_in = -1  # the generation in which this process was fenced
        self.current: TermT | None = None

    def open(self, opener: Callable[[], TermT]) -> TermT | None:
        """The open term, opened now if the group says this process leads; None if it does not."""
        if not self.leadership.held:
            self.end()
            return None
        if self.current is None and self.leadership.generation > self._fenced_in:
            self.current = self.attempt(opener)
        return self.current

    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run a term's action; on failure end the term (and on fencing, stand by)."""
        try:
            return action()
        except FencedError as error:
            _LOG.warning("%s: %s; standing by", self._label, error)
            self._fenced_in = self.leadership.generation
        except (KafkaException, TimeoutError) as error:
            _LOG.warning("%s: term failed (%s); opening a new one", self._label, error)
        self.end()
        return None

    def end(self) -> None:
        """Close the open term, if any."""
        if self.current is not None:
            self.current.close()
            self.current = None
            said = self._on_end()
            _LOG.info("%s: no longer leading%s", self._label, f" ({said})" if said else "")
