"""The oracle catches what it exists to catch, and passes what at-least-once allows."""

from keel.load.oracle import Completion, DeadLetter, SentJob, judge


def _sent(count: int, keys: int = 2) -> list[SentJob]:
    jobs = []
    for i in range(count):
        key = f"k{i % keys}"
        jobs.append(SentJob(f"j{i}", key, seq=i // keys, partition=i % keys, offset=i // keys))
    return jobs


def _done(jobs: list[SentJob], start_ns: int = 1000) -> list[Completion]:
    return [Completion(j.job_id, j.key, j.seq, start_ns + n) for n, j in enumerate(jobs)]


def test_a_clean_run_is_ok() -> None:
    sent = _sent(10)

    verdict = judge(sent, _done(sent), [])

    assert verdict.ok
    assert (verdict.sent, verdict.completed, verdict.lost, verdict.duplicates) == (10, 10, 0, 0)


def test_a_lost_job_fails_the_run() -> None:
    sent = _sent(10)
    completions = _done(sent[:4] + sent[5:])

    verdict = judge(sent, completions, [])

    assert not verdict.ok
    assert verdict.lost == 1
    assert verdict.examples["lost"] == ["j4"]


def test_a_duplicated_job_is_counted_but_allowed() -> None:
    sent = _sent(10)
    completions = [*_done(sent), Completion("j3", "k1", 1, 5000)]

    verdict = judge(sent, completions, [])

    assert verdict.ok
    assert verdict.duplicates == 1
    assert verdict.completed == 10


def test_a_replay_after_a_crash_is_not_an_order_violation() -> None:
    sent = [SentJob(f"j{i}", "k", i, 0, i) for i in range(5)]
    # 0,1,2 done; crash before commit; 1,2 redelivered and done again; then 3,4.
    order = [0, 1, 2, 1, 2, 3, 4]
    completions = [Completion(f"j{s}", "k", s, t) for t, s in enumerate(order)]

    verdict = judge(sent, completions, [])

    assert verdict.ok
    assert (verdict.duplicates, verdict.order_violations) == (2, 0)


def test_a_reordered_key_fails_the_run() -> None:
    sent = [SentJob(f"j{i}", "k", i, 0, i) for i in range(4)]
    completions = [Completion(f"j{s}", "k", s, t) for t, s in enumerate([0, 2, 1, 3])]

    verdict = judge(sent, completions, [])

    assert not verdict.ok
    assert verdict.order_violations == 1
    assert verdict.examples["order_violations"] == ["j1"]


def test_different_keys_may_interleave_freely() -> None:
    sent = [SentJob("a0", "a", 0, 0, 0), SentJob("b0", "b", 0, 0, 1), SentJob("a1", "a", 1, 0, 2)]
    completions = [Completion("a1", "a", 1, 3), Completion("b0", "b", 0, 1)]
    completions.insert(0, Completion("a0", "a", 0, 2))

    assert judge(sent, completions, []).order_violations == 0


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
