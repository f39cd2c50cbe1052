"""When offsets are committed: on an interval, on revoke (by the source) and on shutdown.

The committer only ever commits the engine's positions (the contiguous watermark with the
finished-above metadata), and only those that moved since its last successful commit. A failed
commit (a rebalance in progress, a broker away) is logged and tried again on the next tick:
nothing is lost by committing late, only by committing early.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from keel.consumers.pipeline.partition import Position
from keel.consumers.pipeline.records import TopicPartition

_LOG = logging.getLogger(__name__)

Positions = Mapping[TopicPartition, Position]


class Committer:
    """Commits what moved, every `interval` seconds, and once more on `flush`."""

    def __init__(
        self,
        positions: Callable[[], Positions],
        commit: Callable[[Positions], Awaitable[None]],
        interval: float,
    ) -> None:
        self._positions = positions
        self._commit = commit
        self._interval = interval
        self._last: dict[TopicPartition, Position] = {}
        self.commits = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Commit on the interval until `stop` is set (a commit under way is finished first)."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                await self.flush()

    async def record(self, positions: Positions) -> None:
        """Commit `positions` now, whether they moved or not; raises if the commit failed."""
        await self._commit(positions)
        self._last.update(positions)
        self.commits += 1

    async def flush(self, *, every: bool = False) -> bool:
        """Commit every position that moved (`every`: every position); False when it failed.

        A commit of every position is how the worker asks Kafka whether it is still a member
        of the group's current generation after a freeze (see `pipeline.ownership`).
        """
        moved = {tp: p for tp, p in self._positions().items() if every or self._last.get(tp) != p}
        if not moved:
            return True
        try:
            await self._commit(moved)
        except Exception as error:  # any failure: retried on the next tick
            _LOG.warning("commit failed, retrying on the next tick: %s", error)
            return False
        self._last.update(moved)
        self.commits += 1
        return True
