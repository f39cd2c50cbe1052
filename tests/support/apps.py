"""An app for worker processes that tests start, kill and restart.

Each job sleeps up to KEEL_TEST_LATENCY seconds; each finished job appends `key seq pid` to
the file named by KEEL_TEST_OUTPUT with one unbuffered write, so the line survives a `kill -9`
as soon as the handler has returned. A job whose template is in KEEL_TEST_REJECT is rejected.
"""

import asyncio
import os
import random

from keel.consumers import App, Context, Reject
from keel.schemas.demo import SendEmail

app = App("subprocess-tests")  # the group comes from KEEL_WORKER_GROUP_ID
_output: int | None = None


def _write(line: str) -> None:
    global _output  # noqa: PLW0603 - one descriptor per process, opened on first use
    if _output is None:
        _output = os.open(
            os.environ["KEEL_TEST_OUTPUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
    os.write(_output, line.encode())


_LATENCY = float(os.environ.get("KEEL_TEST_LATENCY", "0.02"))  # the most a job sleeps


# Jobs whose template is named here are rejected (dead-lettered at once): a bug to be fixed.
_REJECTED = frozenset(filter(None, os.environ.get("KEEL_TEST_REJECT", "").split(",")))


@app.handler(SendEmail)
async def record(job: SendEmail, ctx: Context) -> None:
    await asyncio.sleep(random.random() * _LATENCY)
    if job.template in _REJECTED:
        raise Reject(f"template {job.template} is broken")
    _write(f"{job.params['key']} {job.params['seq']} {os.getpid()}\n")
