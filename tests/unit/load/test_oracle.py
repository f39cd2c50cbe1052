"""The oracle catches what it exists to catch, and passes what at-least-once allows."""

import random

from keel.load.key_runs import Run
from keel.load.oracle import DeadLetter, SentJob, Verdict, judge


def _sent(count: int, keys: int = 2) -> list[SentJob]:
    jobs = []
    for i in range(count):
        key = f"k{i % keys}"
        jobs.append(SentJob(f"j{i}", key, seq=i // keys, partition=i % keys, offset=i // keys))
    return jobs


def _done(jobs: list[SentJob], start_ns: int = 1000) -> list[Run]:
    """One run per job, one after the other, each 10 ns long."""
    return [_run(j.job_id, j.key, j.seq, start_ns + 10 * n) for n, j in enumerate(jobs)]


def _run(job_id: str, key: str, seq: int, start: int, *, worker: int = 1, length: int = 5) -> Run:
    return Run(job_id, key, seq, start, start + length, worker)


def _key(count: int, key: str = "k") -> list[SentJob]:
    return [SentJob(f"{key}{i}", key, i, 0, i) for i in range(count)]


def _in_turn(key: str, seqs: list[int], worker: int = 1, start: int = 0) -> list[Run]:
    """Runs of one key's jobs in the given order, one after the other, on one worker."""
    return [_run(f"{key}{s}", key, s, start + 10 * n, worker=worker) for n, s in enumerate(seqs)]


def _breaks(verdict: Verdict) -> tuple[int, int, int, int, int]:
    return (
        verdict.order_violations,
        verdict.runs_out_of_order,
        verdict.runs_out_of_order_across_workers,
        verdict.overlaps,
        verdict.overlaps_across_workers,
    )


def test_a_clean_run_is_ok() -> None:
    sent = _sent(10)

    verdict = judge(sent, _done(sent), [])

    assert verdict.ok
    assert (verdict.sent, verdict.completed, verdict.lost, verdict.duplicates) == (10, 10, 0, 0)
    assert _breaks(verdict) == (0, 0, 0, 0, 0)


def test_a_lost_job_fails_the_run() -> None:
    sent = _sent(10)
    completions = _done(sent[:4] + sent[5:])

    verdict = judge(sent, completions, [])

    assert not verdict.ok
    assert verdict.lost == 1
    assert verdict.examples["lost"] == ["j4"]


def test_a_duplicated_job_is_counted_but_allowed() -> None:
    sent = _sent(10)
    completions = [*_done(sent), _run("j3", "k1", 1, 5000)]

    verdict = judge(sent, completions, [])

    assert verdict.ok
    assert verdict.duplicates == 1
    assert verdict.completed == 10


def test_a_failed_run_is_neither_a_completion_nor_a_duplicate() -> None:
    sent = _key(2)
    failed = Run("k0", "k", 0, 0, 5, 1, attempt=1, ok=False)
    retried = Run("k0", "k", 0, 10, 15, 1, attempt=2)

    verdict = judge(sent, [failed, retried, _run("k1", "k", 1, 20)], [])
    only_failed = judge(sent, [failed, _run("k1", "k", 1, 20)], [])

    assert verdict.ok
    assert (verdict.completed, verdict.duplicates) == (2, 0)
    assert (only_failed.lost, only_failed.examples["lost"]) == (1, ["k0"])


def test_a_replay_after_a_crash_is_not_an_order_violation() -> None:
    sent = _key(5)
    # Worker 1 runs 0,1,2 and dies before committing 1 and 2; worker 2 runs 1..4.
    runs = [*_in_turn("k", [0, 1, 2], worker=1), *_in_turn("k", [1, 2, 3, 4], 2, start=100)]

    verdict = judge(sent, runs, [])

    assert verdict.ok
    assert verdict.duplicates == 2
    assert _breaks(verdict) == (0, 0, 0, 0, 0)


def test_a_reordered_key_fails_the_run() -> None:
    sent = _key(4)

    verdict = judge(sent, _in_turn("k", [0, 2, 1, 3]), [])

    assert not verdict.ok
    assert verdict.order_violations == 1
    assert verdict.examples["order_violations"] == ["k1"]


def test_a_reordered_key_fails_even_when_the_jump_is_rerun_later() -> None:
    # k2 first ran before k1; a replay then ran k2 and k3 again, in order. The first runs
    # are out of order whatever came after; the last runs alone would look fine.
    sent = _key(4)

    verdict = judge(sent, _in_turn("k", [0, 2, 1, 3, 2, 3]), [])

    assert not verdict.ok
    assert verdict.order_violations == 1
    assert verdict.examples["order_violations"] == ["k1"]


def test_different_keys_may_interleave_freely() -> None:
    sent = [SentJob("a0", "a", 0, 0, 0), SentJob("b0", "b", 0, 0, 1), SentJob("a1", "a", 1, 0, 2)]
    completions = [_run("a1", "a", 1, 30), _run("b0", "b", 0, 10)]
    completions.insert(0, _run("a0", "a", 0, 20))

    assert _breaks(judge(sent, completions, [])) == (0, 0, 0, 0, 0)


def test_a_later_job_of_one_key_before_an_earlier_job_of_another_is_no_violation() -> None:
    # Cross-key inversions: a1 and a2 (seq 1, 2) finish before b0 (seq 0). Only a key's own
    # jobs are ordered; seq numbers of different keys say nothing about each other.
    sent = [*_key(3, "a"), *_key(2, "b")]
    runs = [*_in_turn("a", [0, 1, 2]), *_in_turn("b", [0, 1], start=100)]

    verdict = judge(sent, runs, [])

    assert verdict.ok
    assert _breaks(verdict) == (0, 0, 0, 0, 0)


def test_runs_fed_out_of_time_order_are_judged_by_their_times() -> None:
    sent = [*_key(20, "a"), *_key(20, "b")]
    good = [*_in_turn("a", list(range(20)), 1), *_in_turn("b", list(range(20)), 2, start=3)]
    bad = [*_in_turn("a", [0, 2, 1, *range(3, 20)], 1), *_in_turn("b", list(range(20)), 2)]
    random.Random(4).shuffle(good)
    random.Random(4).shuffle(bad)

    shuffled_good, shuffled_bad = judge(sent, good, []), judge(sent, bad, [])

    assert shuffled_good.ok
    assert _breaks(shuffled_good) == (0, 0, 0, 0, 0)
    assert (shuffled_bad.order_violations, shuffled_bad.examples["order_violations"]) == (1, ["a1"])


def test_two_runs_of_one_key_at_once_in_one_worker_fail_the_run() -> None:
    sent = _key(3)
    runs = [_run("k0", "k", 0, 0, length=5), _run("k1", "k", 1, 3, length=5)]
    runs.append(_run("k2", "k", 2, 20))

    verdict = judge(sent, runs, [])

    assert not verdict.ok
    assert (verdict.order_violations, verdict.overlaps, verdict.overlaps_across_workers) == (
        0,
        1,
        0,
    )
    assert verdict.examples["overlaps"] == ["k1"]


def test_a_frozen_worker_finishing_late_is_shown_but_passes() -> None:
    # Worker 1 starts k1, is frozen past its session; worker 2 takes over from k1 and runs
    # k1 and k2 while worker 1's run of k1 is still open.
    sent = _key(3)
    runs = [_run("k0", "k", 0, 0), _run("k1", "k", 1, 10, worker=1, length=1000)]
    runs += _in_turn("k", [1, 2], worker=2, start=100)

    verdict = judge(sent, runs, [])

    assert verdict.ok
    assert (verdict.overlaps, verdict.overlaps_across_workers) == (0, 2)
    assert verdict.examples["overlaps_across_workers"] == ["k1", "k2"]


def test_a_rerun_out_of_order_after_a_crash_fails_the_run() -> None:
    # Worker 1 runs 0..3 and dies; worker 2 replays from 1 but runs 3 before rerunning 2.
    # Every job's first run is in order: only judging every run shows it.
    sent = _key(4)
    runs = [*_in_turn("k", [0, 1, 2, 3], worker=1), *_in_turn("k", [1, 3, 2], 2, start=100)]

    verdict = judge(sent, runs, [])

    assert not verdict.ok
    assert (verdict.order_violations, verdict.runs_out_of_order, verdict.overlaps) == (0, 1, 0)
    assert verdict.examples["runs_out_of_order"] == ["k2"]  # worker 2 went back to a new job
    # Merged with worker 1's runs, the replay's run of k3 passed over k2, which had run.
    assert verdict.examples["runs_out_of_order_across_workers"] == ["k3"]


def test_a_rerun_of_an_earlier_job_after_the_replay_moved_on_fails_the_run() -> None:
    # One worker: 0..3, a replay from 2 (2, 3), then 1 again: below where the replay started.
    sent = _key(4)

    verdict = judge(sent, _in_turn("k", [0, 1, 2, 3, 2, 3, 1]), [])

    assert not verdict.ok
    assert (verdict.order_violations, verdict.runs_out_of_order) == (0, 1)
    assert verdict.examples["runs_out_of_order"] == ["k1"]


def test_poison_must_be_dead_lettered_and_nothing_else() -> None:
    sent = [*_sent(4), SentJob("bad", "k0", 99, partition=0, offset=50, poison=True)]
    good_done = _done(sent[:4])

    missing = judge(sent, good_done, [])
    complete = judge(sent, good_done, [DeadLetter(0, 50)])
    extra = judge(sent, good_done, [DeadLetter(0, 50), DeadLetter(1, 0)])

    assert (missing.ok, missing.poison_missing) == (False, 1)
    assert (complete.ok, complete.poison_missing, complete.lost) == (True, 0, 0)
    assert (extra.ok, extra.unexpected_dead_letters) == (False, 1)


def test_a_good_job_on_the_dead_letter_topic_is_not_lost_but_unexpected() -> None:
    sent = _sent(4)

    verdict = judge(sent, _done(sent[1:]), [DeadLetter(sent[0].partition, sent[0].offset)])

    assert verdict.lost == 0
    assert verdict.unexpected_dead_letters == 1
    assert verdict.examples["unexpected_dead_letters"] == ["j0"]
