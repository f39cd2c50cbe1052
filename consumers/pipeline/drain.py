"""Waiting for partitions to go idle, until a timeout or until the wait is cut short.

A revoke drain may be under way when SIGTERM comes: the shutdown gives running jobs their share
of its one deadline and then cuts every drain, so a revoke that would have waited its full
`drain_timeout` cannot push the worker past `shutdown_timeout`.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable


async def wait_idle(waits: Iterable[Awaitable[object]], timeout: float, cut: asyncio.Event) -> bool:
    """True once every wait is done; False at `timeout` or when `cut` is set first."""
    idle: asyncio.Future[object] = asyncio.ensure_future(asyncio.gather(*waits))
    stopped: asyncio.Future[object] = asyncio.ensure_future(cut.wait())
    try:
        await asyncio.wait((idle, stopped), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return idle.done() and not idle.cancelled()
    finally:
        for task in (idle, stopped):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
