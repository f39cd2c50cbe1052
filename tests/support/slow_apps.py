"""An app whose jobs of some keys outlast any drain: for the shutdown and revoke tests.

The handler is sync, so a slow job holds one of the worker's threads (the hardest case for a
bounded exit: Python waits for such threads before a process ends). Keys below
KEEL_TEST_SLOW_KEYS sleep KEEL_TEST_SLOW_SECONDS; the others up to KEEL_TEST_LATENCY. Each
finished job appends `key seq pid` to the file named by KEEL_TEST_OUTPUT (as
`tests.support.apps` does, so `processes.lines` reads it), and each slow job the same line to
`<that file>.started` when it starts; one unbuffered write each.
"""

import os
import random
import time

from keel.consumers import App, Context
from keel.schemas.demo import SendEmail

app = App("slow-tests")  # the group comes from KEEL_WORKER_GROUP_ID
_SLOW_KEYS = int(os.environ.get("KEEL_TEST_SLOW_KEYS", "0"))
_SLOW_SECONDS = float(os.environ.get("KEEL_TEST_SLOW_SECONDS", "300"))
_LATENCY = float(os.environ.get("KEEL_TEST_LATENCY", "0.02"))
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT
_output = os.open(os.environ["KEEL_TEST_OUTPUT"], _FLAGS, 0o644)
_started = os.open(os.environ["KEEL_TEST_OUTPUT"] + ".started", _FLAGS, 0o644)


@app.handler(SendEmail)
def record(job: SendEmail, ctx: Context) -> None:
    line = f"{job.params['key']} {job.params['seq']} {os.getpid()}\n".encode()
    slow = int(job.params["key"]) < _SLOW_KEYS
    if slow:
        os.write(_started, line)
    time.sleep(_SLOW_SECONDS if slow else random.random() * _LATENCY)
    os.write(_output, line)
