"""The service's tests run against a real Kafka broker and schema registry.

`KAFKA_BOOTSTRAP_SERVERS` and `SCHEMA_REGISTRY_URL` say where; without them, keel talks to the
local stack that `keel broker start` runs. The session gets a topic of its own, created and
registered the way a deploy step would: `keel topics ensure`, `keel schemas register`, then
`keel schemas check` as CI would before the next change.
"""

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import KEEL, PROJECT, keel


@pytest.fixture(scope="session")
def routes() -> str:
    """`KEEL_ROUTES` for a fresh welcome-email topic, created and registered."""
    topic = f"signup.welcome.{uuid.uuid4().hex[:8]}"
    value = json.dumps({"signup.jobs.WelcomeEmail": {"topic": topic, "partitions": 3}})
    env = {**os.environ, "KEEL_ROUTES": value}
    keel("topics", "ensure", env=env)
    keel("schemas", "register", env=env)
    assert "ok      " in keel("schemas", "check", env=env)  # the repo's v1 and the registry agree
    return value


@pytest.fixture(scope="session")
def outbox(routes: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`keel worker signup.worker:app` in its own process, as in production; yields its outbox."""
    folder = tmp_path_factory.mktemp("outbox")
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "KEEL_ROUTES": routes,
        "KEEL_WORKER_GROUP_ID": f"signup-{uuid.uuid4().hex[:8]}",
        "KEEL_WORKER_HEALTH_PORT": "0",
        "SIGNUP_OUTBOX": str(folder),
    }
    with log.open("w") as output:
        worker = subprocess.Popen(
            [KEEL, "worker", "signup.worker:app"],
            env=env,
            cwd=PROJECT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield folder
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert worker.returncode == 0, log.read_text()
