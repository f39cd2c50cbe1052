"""The per-step CPU figures of a typed publish: every step runs, and each is timed per job."""

import time

from keel.load.publish_steps import measure, steps


def test_every_step_runs_on_sample_jobs() -> None:
    measured = {name: measure(step, 50, 1) for name, step in steps(50).items()}

    assert "encode: write_data per field" in measured
    assert all(ns >= 0 for ns in measured.values())


def test_a_step_is_timed_per_job_in_thread_cpu() -> None:
    def two_ms_of_cpu() -> None:
        until = time.thread_time() + 0.002
        while time.thread_time() < until:
            pass

    assert 200_000 <= measure(two_ms_of_cpu, 10, 3) < 2_000_000  # ns per job of 10
