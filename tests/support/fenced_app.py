"""An app for worker processes whose runs are logged and whose writes are fenced.

Each run appends `S run pid key seq offset generation ns` when it starts and `E run pid ns` when
it ends, to the file named by KEEL_TEST_EVENTS, each with one unbuffered write; `ns` is the
monotonic clock, which all processes of the machine share. Between the two, the run sleeps up
to KEEL_TEST_LATENCY seconds and writes its key's state to the store at KEEL_TEST_STORE with its
fence (`ctx.fence`). The handler is sync, so a run frozen mid-way cannot be cancelled: it goes
on with its write when the process runs again, as code that was already running does.
"""

import itertools
import os
import random
import socket
import time

from keel.consumers import App, Context
from keel.schemas.demo import SendEmail

app = App("fenced-tests")  # the group comes from KEEL_WORKER_GROUP_ID
_runs = itertools.count()
_events: int | None = None
_LATENCY = float(os.environ.get("KEEL_TEST_LATENCY", "0.05"))


def _log(line: str) -> None:
    global _events  # noqa: PLW0603 - one descriptor per process, opened on first use
    if _events is None:
        _events = os.open(
            os.environ["KEEL_TEST_EVENTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
    os.write(_events, line.encode())


def _store(key: str, seq: int, generation: int, offset: int) -> None:
    host, port = os.environ["KEEL_TEST_STORE"].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(f"{key} {seq} {generation} {offset} {os.getpid()}\n".encode())
        connection.makefile("rb").readline()


@app.handler(SendEmail)
def record(job: SendEmail, ctx: Context) -> None:
    run, pid = next(_runs), os.getpid()
    key, seq = job.params["key"], int(job.params["seq"])
    fence = ctx.fence
    _log(f"S {run} {pid} {key} {seq} {fence.offset} {fence.generation} {time.monotonic_ns()}\n")
    try:
        time.sleep(_LATENCY / 2 + random.random() * _LATENCY / 2)
        _store(key, seq, fence.generation, fence.offset)
    finally:
        _log(f"E {run} {pid} {time.monotonic_ns()}\n")
