"""The sent ledger gives the oracle back every job as sent, so its checks still fail a bad run."""

from keel.load.key_runs import Run
from keel.load.oracle import DeadLetter, SentJob, judge
from keel.load.profile import job_identity
from keel.load.sent import SentLedger


def _ledger(jobs: int, keys: int = 3) -> SentLedger:
    ledger = SentLedger()
    for i in range(jobs):
        ledger.add(f"k{i % keys}", i // keys, partition=i % keys, offset=i // keys)
    return ledger


def _runs(sent: list[SentJob]) -> list[Run]:
    """One successful run per job, in the order given, 10 ns apart."""
    return [Run(j.job_id, j.key, j.seq, 10 * n, 10 * n + 5, 1) for n, j in enumerate(sent)]


def test_gives_back_every_job_with_its_identity_and_place() -> None:
    ledger = _ledger(5, keys=2)
    poison = SentJob("poison:9", "k0", -1, 1, 7, poison=True)
    ledger.add_poison(poison)

    jobs = list(ledger)

    assert len(ledger) == 6
    assert jobs == [
        SentJob(job_identity("k0", 0), "k0", 0, 0, 0),
        SentJob(job_identity("k1", 0), "k1", 0, 1, 0),
        SentJob(job_identity("k0", 1), "k0", 1, 0, 1),
        SentJob(job_identity("k1", 1), "k1", 1, 1, 1),
        SentJob(job_identity("k0", 2), "k0", 2, 0, 2),
        poison,
    ]


def test_a_clean_run_from_the_ledger_passes() -> None:
    sent = list(_ledger(30))

    verdict = judge(_ledger(30), _runs(sent), [])

    assert verdict.ok
    assert (verdict.sent, verdict.completed, verdict.lost) == (30, 30, 0)


def test_the_oracle_still_finds_a_lost_job() -> None:
    sent = list(_ledger(30))

    verdict = judge(_ledger(30), _runs(sent[:7] + sent[8:]), [])

    assert not verdict.ok
    assert verdict.lost == 1
    assert verdict.examples["lost"] == [sent[7].job_id]


def test_the_oracle_still_counts_a_duplicate() -> None:
    sent = list(_ledger(30))

    verdict = judge(_ledger(30), _runs([*sent, sent[29]]), [])

    assert verdict.ok
    assert verdict.duplicates == 1


def test_the_oracle_still_finds_an_order_break() -> None:
    sent = list(_ledger(30))
    swapped = [*sent[:3], sent[6], *sent[4:6], sent[3], *sent[7:]]  # k0's seq 2 before seq 1

    verdict = judge(_ledger(30), _runs(swapped), [])

    assert not verdict.ok
    assert verdict.order_violations == 1


def test_the_oracle_still_finds_poison_missing_from_the_dead_letters() -> None:
    ledger = _ledger(6)
    ledger.add_poison(SentJob("poison:6", "k0", -1, 0, 2, poison=True))
    good = [job for job in ledger if not job.poison]

    missing = judge(ledger, _runs(good), [])
    found = judge(ledger, _runs(good), [DeadLetter(0, 2)])

    assert (missing.poison_missing, missing.ok) == (1, False)
    assert (found.poison_missing, found.ok) == (0, True)
