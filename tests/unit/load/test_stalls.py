"""A slow job is put under the collections that overlapped it, in the harness or its worker."""

from keel.load.collections_log import Collection
from keel.load.completions import LoggedRun
from keel.load.key_runs import Run
from keel.load.stalls import find_stalls

HARNESS, WORKER, OTHER_WORKER = 10, 20, 30
MS = 1_000_000


def _job(intended_ms: int, took_ms: int, worker: int = WORKER, *, ok: bool = True) -> LoggedRun:
    end = (intended_ms + took_ms) * MS
    run = Run(f"k:{intended_ms}", "k", intended_ms, end - MS, end, worker, 1, ok)
    return LoggedRun(run, intended_ms * MS)


def _pause(began_ms: int, took_ms: int, pid: int, generation: int = 2) -> Collection:
    return Collection(began_ms * MS, took_ms * MS, generation, 0, pid)


def test_a_slow_job_under_a_harness_collection_is_counted_there() -> None:
    stalls = find_stalls([_job(100, 60)], [_pause(90, 50, HARNESS)], HARNESS)

    assert (stalls.slow, stalls.under_harness_collection, stalls.under_worker_collection) == (
        1,
        1,
        0,
    )
    assert stalls.under_none == 0


def test_only_a_collection_of_the_jobs_own_worker_counts() -> None:
    pauses = [_pause(110, 40, OTHER_WORKER), _pause(500, 40, WORKER)]

    stalls = find_stalls([_job(100, 60)], pauses, HARNESS)

    assert (stalls.under_worker_collection, stalls.under_none) == (0, 1)
    assert stalls.workers[WORKER].full == 1


def test_a_collection_of_its_worker_during_the_job_counts() -> None:
    stalls = find_stalls([_job(100, 60)], [_pause(150, 5, WORKER)], HARNESS)

    assert (stalls.under_worker_collection, stalls.under_none) == (1, 0)


def test_a_collection_that_ended_before_the_job_was_due_does_not_count() -> None:
    stalls = find_stalls([_job(100, 60)], [_pause(40, 50, HARNESS)], HARNESS)

    assert (stalls.under_harness_collection, stalls.under_none) == (0, 1)


def test_fast_and_failed_runs_are_not_slow_jobs() -> None:
    jobs = [_job(100, 5), _job(200, 90, ok=False), _job(300, 25)]

    stalls = find_stalls(jobs, [], HARNESS)

    assert (stalls.jobs, stalls.slow, stalls.under_none) == (2, 1, 1)


def test_pauses_are_summed_per_process() -> None:
    pauses = [_pause(0, 3, HARNESS, generation=0), _pause(10, 70, HARNESS), _pause(5, 2, WORKER)]

    stalls = find_stalls([], pauses, HARNESS)

    assert (stalls.harness.full, stalls.harness.logged) == (1, 2)
    assert (stalls.harness.total_ms, stalls.harness.longest_ms) == (73.0, 70.0)
    assert stalls.workers[WORKER].logged == 1
