"""The handler, run by keel's in-memory worker: no broker, milliseconds."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from keel.consumers.testing import InMemoryWorker

from signup import worker
from signup.jobs import WelcomeEmail


@pytest.fixture
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SIGNUP_OUTBOX", str(tmp_path))
    worker.settings.cache_clear()
    yield tmp_path
    worker.settings.cache_clear()


def test_the_app_decodes_its_own_job_types_only() -> None:
    assert worker.app.catalog.names == ["signup.jobs.WelcomeEmail"]
    assert worker.app.catalog.of(WelcomeEmail).ordered is True


def test_a_welcome_delivered_twice_sends_one_email(outbox: Path) -> None:
    job = WelcomeEmail(user_id=uuid4(), email="ada@example.com", name="Ada")
    in_memory = InMemoryWorker(worker.app)
    in_memory.send(job, key=str(job.user_id).encode())
    in_memory.send(job, key=str(job.user_id).encode())  # redelivered, e.g. after a crash

    async def run() -> None:
        await in_memory.run_until_idle()
        await in_memory.close()

    asyncio.run(run())

    assert in_memory.dead_letters == []
    assert [path.name for path in outbox.iterdir()] == [f"{job.user_id}.txt"]
