"""The oracle: after a run has drained, did every job finish, once, in its key's order?

It judges what the broker and the workers' run logs hold, not what the harness hoped:

- lost: a good job that never completed and was not dead-lettered;
- duplicates: completions beyond the first of a job (at-least-once allows them; the harness
  reports them and compares them with what was in flight when a fault hit);
- order violations: per key, jobs must *first* complete in the order they were sent. A replay
  after a crash repeats jobs (duplicates) but never makes a later job finish first;
- runs out of order and overlaps: every run of a key, not only the first, failed attempts
  included, must keep the key's order through replays and never overlap another run of the key
  (the rules are in `keel.load.key_runs`). Inside one worker a break fails the run; a break
  seen only across workers (a worker frozen past its session finishing a job the new owner has
  already run) is counted and shown, not failed;
- dead-letter completeness: every poison record is on the dead-letter topic, and nothing else.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from keel.load.key_runs import Run, by_time, out_of_order, overlaps

_EXAMPLES = 10


@dataclass(frozen=True)
class SentJob:
    """A job the harness produced, with where the broker put it."""

    job_id: str
    key: str
    seq: int
    partition: int
    offset: int
    poison: bool = False


@dataclass(frozen=True)
class DeadLetter:
    """A dead-letter record, identified by where its original record was."""

    origin_partition: int
    origin_offset: int


@dataclass(frozen=True)
class Verdict:
    """The oracle's counts; `ok` is what decides a run's exit code."""

    sent: int
    completed: int
    lost: int
    duplicates: int
    order_violations: int
    runs_out_of_order: int
    runs_out_of_order_across_workers: int
    overlaps: int
    overlaps_across_workers: int
    poison_sent: int
    poison_missing: int
    unexpected_dead_letters: int
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.order_violations
            or self.runs_out_of_order
            or self.overlaps
            or self.poison_missing
            or self.unexpected_dead_letters
        )


def judge(
    sent: Iterable[SentJob], runs: Iterable[Run], dead_letters: Iterable[DeadLetter]
) -> Verdict:
    jobs = list(sent)
    every_run = by_time(runs)
    by_position = {(job.partition, job.offset): job for job in jobs}
    dead = {(d.origin_partition, d.origin_offset) for d in dead_letters}
    first_done, duplicates = _first_completions(every_run)
    good = [job for job in jobs if not job.poison]
    lost = [j.job_id for j in good if j.job_id not in first_done and _where(j) not in dead]
    poison = [job for job in jobs if job.poison]
    missing = [j.job_id for j in poison if _where(j) not in dead]
    unexpected = [
        by_position[p].job_id if p in by_position else f"p{p[0]}@{p[1]}"
        for p in sorted(dead)
        if p not in by_position or not by_position[p].poison
    ]
    violations = _order_violations(good, first_done)
    disorder, overlapping = out_of_order(every_run), overlaps(every_run)
    found = {
        "lost": lost,
        "order_violations": violations,
        "runs_out_of_order": _ids(disorder.within),
        "runs_out_of_order_across_workers": _ids(disorder.across),
        "overlaps": _ids(overlapping.within),
        "overlaps_across_workers": _ids(overlapping.across),
        "poison_missing": missing,
        "unexpected_dead_letters": unexpected,
    }
    return Verdict(
        sent=len(jobs),
        completed=len(first_done),
        lost=len(lost),
        duplicates=duplicates,
        order_violations=len(violations),
        runs_out_of_order=len(disorder.within),
        runs_out_of_order_across_workers=len(disorder.across),
        overlaps=len(overlapping.within),
        overlaps_across_workers=len(overlapping.across),
        poison_sent=len(poison),
        poison_missing=len(missing),
        unexpected_dead_letters=len(unexpected),
        examples={name: ids[:_EXAMPLES] for name, ids in found.items() if ids},
    )


def _where(job: SentJob) -> tuple[int, int]:
    return (job.partition, job.offset)


def _ids(runs: list[Run]) -> list[str]:
    return [run.job_id for run in runs]


def _first_completions(runs: list[Run]) -> tuple[dict[str, Run], int]:
    """Each job's first successful run (`runs` are in time order), and how many came after."""
    first: dict[str, Run] = {}
    duplicates = 0
    for run in runs:
        if not run.ok:
            continue
        if run.job_id in first:
            duplicates += 1
        else:
            first[run.job_id] = run
    return first, duplicates


def _order_violations(good: list[SentJob], first_done: dict[str, Run]) -> list[str]:
    """Jobs that first completed before a job sent earlier on the same key."""
    by_key: dict[str, list[Run]] = {}
    for job in good:
        done = first_done.get(job.job_id)
        if done is not None:
            by_key.setdefault(job.key, []).append(done)
    violations = []
    for runs in by_key.values():
        highest = -1
        for run in by_time(runs):
            if run.seq < highest:
                violations.append(run.job_id)
            highest = max(highest, run.seq)
    return violations
