import asyncio
import os
from pathlib import Path

import pytest

from keel.load.completions import read_completions
from keel.load.jobs import LoadJob
from keel.load.profile import InjectedFailure, LoadHandler, LoadProfile


def _run(handler: LoadHandler, job: LoadJob, attempt: int = 1) -> None:
    asyncio.run(handler(job, attempt))


def test_a_finished_job_is_logged_with_its_identity(tmp_path: Path) -> None:
    handler = LoadHandler(LoadProfile(log_dir=tmp_path))

    _run(handler, LoadJob(key="k1", seq=4, intended_ns=123))
    handler.close()

    [logged] = read_completions(tmp_path.glob("*.log"))
    run = logged.run
    assert (run.job_id, run.key, run.seq, logged.intended_ns) == ("k1:4", "k1", 4, 123)
    assert (run.worker, run.attempt, run.ok) == (os.getpid(), 1, True)
    assert 123 < run.start_ns <= run.end_ns


def test_chosen_jobs_fail_once_then_succeed(tmp_path: Path) -> None:
    handler = LoadHandler(LoadProfile(log_dir=tmp_path, failure_rate=0.3))
    jobs = [LoadJob(key="k", seq=n, intended_ns=0) for n in range(200)]
    failed = []
    for job in jobs:
        try:
            _run(handler, job, attempt=1)
        except InjectedFailure:
            failed.append(job)
    for job in failed:
        _run(handler, job, attempt=2)
    handler.close()

    runs = [logged.run for logged in read_completions(tmp_path.glob("*.log"))]
    assert 30 < len(failed) < 90
    assert sum(run.ok for run in runs) == 200
    assert sorted((r.seq, r.attempt) for r in runs if not r.ok) == [(j.seq, 1) for j in failed]
    assert all(r.attempt == 2 for r in runs if r.ok and r.seq in {j.seq for j in failed})


def test_rates_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        LoadProfile(failure_rate=1.5)
