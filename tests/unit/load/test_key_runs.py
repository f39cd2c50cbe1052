"""The rules for every run of a key: what replays may do, and what no worker may do."""

from keel.load.key_runs import Breaks, Run, out_of_order, overlaps


def _runs(*steps: tuple[int, int], start: int = 0) -> list[Run]:
    """Runs of key k, one after the other: (seq, worker) for each, attempt 1."""
    return [
        Run(f"k{seq}", "k", seq, start + 10 * n, start + 10 * n + 5, worker)
        for n, (seq, worker) in enumerate(steps)
    ]


def _ids(breaks: Breaks) -> tuple[list[str], list[str]]:
    return [r.job_id for r in breaks.within], [r.job_id for r in breaks.across]


def test_two_crashes_replaying_from_later_commits_keep_order() -> None:
    # Worker 1 runs 0..5; worker 2 replays from 3 and runs 3..6; worker 3 replays from 5.
    runs = _runs((0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1))
    runs += _runs((3, 2), (4, 2), (5, 2), (6, 2), start=100)
    runs += _runs((5, 3), (6, 3), (7, 3), start=200)

    assert _ids(out_of_order(runs)) == ([], [])
    assert _ids(overlaps(runs)) == ([], [])


def test_a_later_replay_starting_below_an_earlier_one_is_out_of_order() -> None:
    # Committed offsets only move forward: after a replay from 4, none may start at 2.
    runs = _runs((0, 1), (1, 1), (2, 1), (3, 1), (4, 1))
    runs += _runs((4, 2), start=100) + _runs((2, 3), (3, 3), (4, 3), start=200)

    # Worker 3's runs of k2 and k3 both come below the replay from 4; its k4 is in order again.
    assert _ids(out_of_order(runs)) == ([], ["k2", "k3"])


def test_a_retry_must_follow_its_failed_attempt() -> None:
    failed = Run("k1", "k", 1, 10, 15, 1, attempt=1, ok=False)
    in_turn = [*_runs((0, 1)), failed, Run("k1", "k", 1, 20, 25, 1, attempt=2)]
    late = [*_runs((0, 1)), failed, *_runs((2, 1), start=20), Run("k1", "k", 1, 40, 45, 1, 2)]

    assert _ids(out_of_order(in_turn)) == ([], [])
    assert _ids(out_of_order(late)) == (["k1"], [])


def test_a_retry_that_does_not_wait_for_its_key_overlaps() -> None:
    # k1's retry starts while k2 (started after k1's failed attempt) still runs.
    runs = [
        Run("k1", "k", 1, 0, 5, 1, attempt=1, ok=False),
        Run("k2", "k", 2, 10, 30, 1),
        Run("k1", "k", 1, 20, 25, 1, attempt=2),
    ]

    assert _ids(overlaps(runs)) == (["k1"], [])
    assert _ids(out_of_order(runs)) == (["k1"], [])


def test_a_worker_back_from_a_lost_session_may_resume_where_the_group_committed() -> None:
    # Worker 1 runs 0..2, loses its session; worker 2 runs 3..6 and commits; worker 1 gets the
    # partition back at 7. Worker 1 alone jumped from 2 to 7, over jobs it never ran.
    runs = _runs((0, 1), (1, 1), (2, 1)) + _runs((3, 2), (4, 2), (5, 2), (6, 2), start=100)
    runs += _runs((7, 1), (8, 1), start=200)

    assert _ids(out_of_order(runs)) == ([], [])


def test_a_frozen_worker_running_one_more_job_is_counted_across_workers_only() -> None:
    # Worker 1 is frozen after k3; worker 2 replays 3..5; worker 1 wakes and runs k4 before it
    # learns the partition is gone, then worker 2 runs k6: k4's effect now follows k5's.
    runs = _runs((0, 1), (1, 1), (2, 1), (3, 1))
    runs += _runs((3, 2), (4, 2), (5, 2), start=100) + _runs((4, 1), start=130)
    runs += _runs((6, 2), start=140)

    assert _ids(out_of_order(runs)) == ([], ["k6"])
