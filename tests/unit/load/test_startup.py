"""The warm-up job: its wait for the producer id is the first publish, not worker latency."""

from keel.load.completions import LoggedRun
from keel.load.key_runs import Run
from keel.load.producer import WarmUp
from keel.load.rounds import _latency, _startup

_MS = 1_000_000


def _run(job_id: str, intended_ms: int, end_ms: int, *, ok: bool = True) -> LoggedRun:
    run = Run(job_id, job_id.split(":", 1)[0], 0, end_ms * _MS - _MS, end_ms * _MS, 1, 1, ok)
    return LoggedRun(run, intended_ms * _MS)


# The warm-up was meant to leave at 0 ms; its publish returned at 500 ms (the producer id wait).
_WARM_UP = WarmUp("k1:0", began_ns=0, returned_ns=500 * _MS)


def test_the_first_publish_and_the_first_job_are_reported_apart() -> None:
    runs = [_run("k1:0", 0, 504), _run("k1:0", 0, 900), _run("k2:0", 500, 506)]
    assert _startup(_WARM_UP, runs) == {"first_publish_ms": 500.0, "first_job_ms": 4.0}


def test_the_warm_up_job_counts_from_its_ack_in_the_latency() -> None:
    recorder = _latency([_run("k1:0", 0, 504), _run("k2:0", 500, 506)], _WARM_UP)
    summary = recorder.summary()
    assert summary.count == 2
    assert summary.max_ms < 10  # 4 ms and 6 ms; from its intended time it would be 504 ms


def test_a_warm_up_job_that_never_ran_reports_the_publish_only() -> None:
    assert _startup(_WARM_UP, [_run("k1:0", 0, 504, ok=False)]) == {"first_publish_ms": 500.0}
