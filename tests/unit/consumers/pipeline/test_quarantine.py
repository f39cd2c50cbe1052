"""Key quarantine in the real engine, without Kafka: which records park, run or lift a hold."""

from collections.abc import AsyncIterator

import pytest

from keel.consumers import App, Context, Reject
from keel.consumers.pipeline.observer import NoObserver
from keel.consumers.pipeline.records import Message
from keel.consumers.testing import InMemoryWorker
from keel.schemas.headers import (
    BLOCKED_BY,
    DLT_REASON,
    JOB_ID,
    QUARANTINE_COVERS,
    QUARANTINE_REPLAY,
    QUARANTINE_RESUME,
    header_value,
)
from keel.schemas.job import Job
from tests.support.jobs import catalog_of


class Step(Job):
    n: int


CATALOG = catalog_of(Step)
KEY = b"account-1"
BLOCKER = "jobs.steps/0/4"  # step 3 of the key (its jobs alternate with another key's)


class Recorder:
    """An app whose handler rejects the steps in `failing` and records the others it ran."""

    def __init__(self, *, quarantine: bool | None = None) -> None:
        self.ran: list[tuple[bytes | None, int]] = []
        self.failing = {3}
        self.app = App("billing", catalog=CATALOG)

        @self.app.handler(Step, quarantine=quarantine)
        def step(job: Step, ctx: Context) -> None:
            if job.n in self.failing:
                raise Reject("bad step")
            self.ran.append((ctx.key, job.n))


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, InMemoryWorker]]:
    recorder = Recorder()
    worker = InMemoryWorker(recorder.app, topic="jobs.steps", quarantine=True)
    yield recorder, worker
    await worker.close()


def ran(recorder: Recorder, key: bytes | None) -> list[int]:
    return [n for k, n in recorder.ran if k == key]


async def park_behind_step_three(worker: InMemoryWorker) -> None:
    for n in range(1, 11):
        worker.send(Step(n=n), key=KEY)
        worker.send(Step(n=100 + n), key=b"other")
    await worker.run_until_idle()


def replay(worker: InMemoryWorker, steps: range, covers: int) -> None:
    for n in steps:
        worker.send(Step(n=n), key=KEY, headers={QUARANTINE_REPLAY: BLOCKER})
    marker = {QUARANTINE_RESUME: BLOCKER, QUARANTINE_COVERS: str(covers)}
    worker.send_raw(None, key=KEY, headers=marker)


async def test_a_rejected_job_parks_the_later_jobs_of_its_key_only(
    recorder: tuple[Recorder, InMemoryWorker],
) -> None:
    app, worker = recorder

    await park_behind_step_three(worker)

    assert ran(app, KEY) == [1, 2]
    assert ran(app, b"other") == list(range(101, 111))
    reasons = [letter.headers[DLT_REASON] for letter in worker.dead_letters]
    assert reasons == ["rejected: bad step"] + ["quarantined"] * 7
    assert {letter.headers.get(BLOCKED_BY) for letter in worker.dead_letters[1:]} == {BLOCKER}
    assert worker.committed == {0: 20}  # parked records count as finished


async def test_the_hold_is_saved_before_the_blocking_job_counts_as_finished(
    recorder: tuple[Recorder, InMemoryWorker],
) -> None:
    _app, worker = recorder

    await park_behind_step_three(worker)

    first = worker.quarantine_state[0]
    assert first.topic == "keel.quarantine.billing"
    assert first.key == b"jobs.steps\0" + KEY
    assert first.value is not None
    assert BLOCKER.encode() in first.value
    assert b'"parked_through": -1' in first.value  # saved before anything was parked
    # each parked job moves the hold's last parked offset: the last one is step 10, offset 18
    assert worker.quarantine_state[-1].value is not None
    assert b'"parked_through": 18' in worker.quarantine_state[-1].value


async def test_replaying_the_blocker_runs_it_and_the_parked_jobs_in_order_then_the_key_runs(
    recorder: tuple[Recorder, InMemoryWorker],
) -> None:
    app, worker = recorder
    await park_behind_step_three(worker)
    app.failing = set()  # the fix

    replay(worker, range(3, 11), covers=18)
    worker.send(Step(n=11), key=KEY)
    await worker.run_until_idle()

    assert ran(app, KEY) == list(range(1, 12))
    assert worker.quarantine_state[-1].value is None  # the hold ended: a tombstone


async def test_a_replay_that_missed_a_parked_job_leaves_the_key_held(
    recorder: tuple[Recorder, InMemoryWorker],
) -> None:
    app, worker = recorder
    await park_behind_step_three(worker)
    app.failing = set()

    replay(worker, range(3, 10), covers=16)  # read the dead letters before step 10 was parked
    worker.send(Step(n=11), key=KEY)
    await worker.run_until_idle()

    assert ran(app, KEY) == list(range(1, 10))
    assert worker.dead_letters[-1].headers[DLT_REASON] == "quarantined"  # step 11 parked


async def test_a_replayed_job_that_fails_again_blocks_the_rest_of_the_replay(
    recorder: tuple[Recorder, InMemoryWorker],
) -> None:
    app, worker = recorder
    await park_behind_step_three(worker)

    replay(worker, range(3, 11), covers=18)  # no fix: step 3 is rejected again
    await worker.run_until_idle()

    assert ran(app, KEY) == [1, 2]
    assert worker.dead_letters[8].headers[DLT_REASON] == "rejected: bad step"
    new_blocker = worker.dead_letters[9].headers[BLOCKED_BY]
    assert new_blocker != BLOCKER  # the replayed step 3 holds the key now


async def test_a_marker_for_a_key_that_is_not_held_is_neither_run_nor_dead_lettered(
    recorder: tuple[Recorder, InMemoryWorker],
) -> None:
    _app, worker = recorder

    worker.send_raw(None, key=KEY, headers={QUARANTINE_RESUME: BLOCKER})
    await worker.run_until_idle()

    assert worker.dead_letters == []
    assert worker.committed == {0: 1}


async def test_jobs_without_a_key_are_never_held() -> None:
    app = Recorder()
    worker = InMemoryWorker(app.app, topic="jobs.steps", quarantine=True)
    try:
        for n in range(1, 6):
            worker.send(Step(n=n))
        await worker.run_until_idle()
    finally:
        await worker.close()

    assert sorted(ran(app, None)) == [1, 2, 4, 5]
    assert worker.quarantine_state == []


async def test_a_job_type_registered_without_quarantine_lets_its_key_go_on() -> None:
    app = Recorder(quarantine=False)
    worker = InMemoryWorker(app.app, topic="jobs.steps", quarantine=True)
    try:
        await park_behind_step_three(worker)
    finally:
        await worker.close()

    assert ran(app, KEY) == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert len(worker.dead_letters) == 1


class Parks(NoObserver):
    """Notes each acknowledged park: the parked job's id and type, and what blocks it."""

    def __init__(self) -> None:
        self.parked: list[tuple[str, str | None, str]] = []

    def job_parked(self, record: Message, job_type: str | None, blocked_by: str) -> None:
        job_id = (header_value(record.headers(), JOB_ID) or b"").decode()
        self.parked.append((job_id, job_type, blocked_by))


async def test_each_acknowledged_park_is_told_with_the_blocking_jobs_id() -> None:
    app, parks = Recorder(), Parks()
    worker = InMemoryWorker(app.app, topic="jobs.steps", quarantine=True, observer=parks)
    try:
        await park_behind_step_three(worker)
    finally:
        await worker.close()

    blocker_id, *parked_ids = [letter.headers[JOB_ID] for letter in worker.dead_letters]
    assert len(parked_ids) == 7
    assert parks.parked == [(job_id, CATALOG.of(Step).name, blocker_id) for job_id in parked_ids]
