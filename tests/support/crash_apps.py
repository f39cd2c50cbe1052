"""An app whose handler ends its own process on one job, as a segfault or the OOM killer would.

The job named by KEEL_TEST_CRASH_JOB (`key seq`) appends `attempt pid` to KEEL_TEST_RUNS, waits
KEEL_TEST_CRASH_DELAY seconds and calls `os._exit`: no `finally`, no revoke, no last commit.
Every other job appends `key seq pid` to KEEL_TEST_OUTPUT. Each line is one unbuffered write,
so it survives the process.
"""

import asyncio
import os

from keel.consumers import App, Context, RetryPolicy
from keel.schemas.demo import SendEmail

MAX_ATTEMPTS = 3
app = App("crash-tests", retry=RetryPolicy(max_attempts=MAX_ATTEMPTS, base_delay=0.01))


def _append(variable: str, line: str) -> None:
    descriptor = os.open(os.environ[variable], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


@app.handler(SendEmail)
async def crash_on_one(job: SendEmail, ctx: Context) -> None:
    key, seq = job.params["key"], job.params["seq"]
    if f"{key} {seq}" == os.environ["KEEL_TEST_CRASH_JOB"]:
        _append("KEEL_TEST_RUNS", f"{ctx.attempt} {os.getpid()}\n")
        await asyncio.sleep(float(os.environ.get("KEEL_TEST_CRASH_DELAY", "0")))
        os._exit(70)
    _append("KEEL_TEST_OUTPUT", f"{key} {seq} {os.getpid()}\n")
