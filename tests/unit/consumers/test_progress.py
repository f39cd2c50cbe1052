"""`keel worker --progress`: one live line on a terminal, plain lines in a log."""

import asyncio
import io
import itertools
import re

from rich.console import Console

from keel.consumers.cli import show_progress
from tests.support.waiting import until

SHOW_CURSOR = "\x1b[?25h"


async def _show(console: Console, lines: int) -> str:
    counter = itertools.count(1)
    task = asyncio.create_task(show_progress(lambda: f"processed {next(counter)}", console, 0.001))
    output = console.file
    assert isinstance(output, io.StringIO)
    await until(lambda: output.getvalue().count("processed") >= lines, 5, f"{lines} counts")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return output.getvalue()


async def test_a_log_gets_plain_lines_and_never_a_carriage_return() -> None:
    written = await _show(Console(file=io.StringIO(), force_terminal=False), lines=3)

    assert "\r" not in written
    assert "\x1b" not in written
    assert written.splitlines()[:3] == ["processed 1", "processed 2", "processed 3"]


async def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    written = await _show(Console(file=io.StringIO(), force_terminal=True), lines=3)

    assert "\x1b[2K" in written  # the previous line erased before it is drawn again
    # the last line stays, once, when the worker stops
    assert re.search(r"processed \d+\n$", written.removesuffix(SHOW_CURSOR))
    assert written.count("\n") == 1
