"""What starting an async attempt costs the loop: `python -m keel.load.attempts_bench`.

Runs `--attempts` async attempts through the worker's `Carriers` (see
`keel.consumers.pipeline.carrier`), started in batches of 500 as a poll batch starts them, for
two handlers: one that returns at once (carried: no task of its own) and one that awaits
`asyncio.sleep(0)` once (it suspends, so all but the first of each batch run in a task of their
own). It prints the event loop thread's CPU per attempt (`time.thread_time`), the median and the
lowest of `--rounds` rounds. No broker, no decode, no engine: only what an attempt's start, its
steps and its report cost. Numbers are printed, never asserted.
"""

import argparse
import asyncio
import contextvars
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from keel.consumers.pipeline.carrier import Carriers

_BATCH = 500


async def _returns() -> None:
    pass


async def _suspends() -> None:
    await asyncio.sleep(0)


def cpu_per_attempt(handler: Callable[[], Coroutine[Any, Any, None]], attempts: int) -> float:
    """Loop-thread CPU seconds per attempt of `handler`, started in batches."""

    async def run() -> float:
        carriers = Carriers(asyncio.get_running_loop())
        ended = [0]

        def report(error: BaseException | None) -> None:
            if error is not None:
                raise error
            ended[0] += 1

        started = time.thread_time()
        for n in range(attempts):
            carriers.start(handler(), contextvars.copy_context(), report, None)
            if n % _BATCH == _BATCH - 1:
                await asyncio.sleep(0)  # the loop's next pass, as between two poll batches
        while ended[0] < attempts:
            await asyncio.sleep(0)
        return (time.thread_time() - started) / attempts

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    for name, handler in (("returns", _returns), ("suspends once", _suspends)):
        spent = [cpu_per_attempt(handler, args.attempts) * 1e6 for _ in range(args.rounds)]
        print(f"{name:14s} {statistics.median(spent):5.2f} us/attempt (lowest {min(spent):.2f})")


if __name__ == "__main__":
    main()
