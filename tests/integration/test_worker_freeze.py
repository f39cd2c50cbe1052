"""A worker frozen past its session (SIGSTOP) and resumed while a second worker took over.

What cannot be helped: the runs the frozen worker had started before the freeze end after it,
beside the new owner's runs of the same keys (nothing inside a stopped process runs). What the
worker must not do: start, settle or commit anything of the partitions it lost once it runs
again. What the fence is for: the late writes of those frozen runs are refused downstream.
"""

import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from keel.consumers import App, Context, Fence
from keel.load.key_runs import Run, overlaps
from keel.schemas.demo import SendEmail
from tests.support.cluster import Cluster
from tests.support.fenced_store import FencedStore, serving
from tests.support.processes import WorkerProcess
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import (
    JobProducer,
    committed,
    end_offsets,
    running,
    wait_for,
    worker_settings,
)

KEYS = 16
SEQS = 250  # per key: a key's jobs run one at a time, so the load outlasts the freeze
PARTITIONS = 4
LATENCY = 0.06  # a run sleeps 30-60 ms
_ASSIGNED = re.compile(r"\bassigned (?!nothing)\S")


@dataclass
class _Run:
    run: int
    pid: int
    key: str
    seq: int
    offset: int
    generation: int
    start_ns: int
    end_ns: int | None = None


def read_runs(events: Path) -> list[_Run]:
    """Every run the handlers logged, start and end joined by (pid, run)."""
    runs: dict[tuple[int, int], _Run] = {}
    if not events.exists():
        return []
    for line in events.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # a worker is writing it still
        fields = line.split()
        if fields[0] == "S":
            run, pid, key, seq, offset, generation, ns = fields[1:]
            runs[int(pid), int(run)] = _Run(
                int(run), int(pid), key, int(seq), int(offset), int(generation), int(ns)
            )
        elif fields[0] == "E":
            run, pid, ns = fields[1:]
            runs[int(pid), int(run)].end_ns = int(ns)
    return list(runs.values())


def overlapping_pairs(runs: list[_Run]) -> list[tuple[_Run, _Run]]:
    """(earlier, later) runs of one key where the later one starts before the earlier ended."""
    by_key: dict[str, list[_Run]] = {}
    for run in sorted(runs, key=lambda r: r.start_ns):
        by_key.setdefault(run.key, []).append(run)
    pairs: list[tuple[_Run, _Run]] = []
    for key_runs in by_key.values():
        for index, later in enumerate(key_runs):
            pairs.extend(
                (earlier, later)
                for earlier in key_runs[:index]
                if earlier.end_ns is None or earlier.end_ns > later.start_ns
            )
    return pairs


def owns_partitions(worker: WorkerProcess) -> bool:
    return bool(_ASSIGNED.search(worker.log.read_text(errors="replace")))


def assignments(worker: WorkerProcess) -> int:
    return len(_ASSIGNED.findall(worker.log.read_text(errors="replace")))


def freeze_mid_runs(worker: WorkerProcess, events: Path) -> tuple[int, set[str]]:
    """SIGSTOP `worker` in the middle of runs: when, and the keys it was running.

    Stopped again until it is caught so: on a loaded host it may be between runs. The time is
    read once the process is seen stopped, not as the signal is sent: the worker may start a
    run in between, and that run is one of those in flight at the freeze.
    """
    pid = worker.process.pid
    for _ in range(100):
        worker.process.send_signal(signal.SIGSTOP)
        wait_until(lambda: _stopped(pid), 10, "the worker to stop")
        stopped_ns = time.monotonic_ns()
        keys = {r.key for r in read_runs(events) if r.pid == pid and r.end_ns is None}
        if keys:
            return stopped_ns, keys
        worker.process.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("the worker was never caught in the middle of a run")


def _stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal (state T in /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "Tt"


def test_a_frozen_worker_starts_nothing_of_keys_it_lost_and_its_late_writes_are_refused(
    cluster: Cluster, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    # Given two workers sharing 16 keys of 250 jobs each, every run logged and fenced downstream
    topic = new_topic("freeze", partitions=PARTITIONS)
    group = f"freeze-{topic}"
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % KEYS, n // KEYS) for n in range(KEYS * SEQS))
    producer.close()
    events = tmp_path / "events"
    with serving() as (store, address):

        def worker() -> WorkerProcess:
            return WorkerProcess(
                cluster,
                topic,
                group,
                tmp_path / "worker",
                latency=LATENCY,
                env={"KEEL_TEST_EVENTS": str(events), "KEEL_TEST_STORE": address},
                target="tests.support.fenced_app:app",
                max_in_flight="50",
                sync_threads="32",
            )

        frozen, other = worker(), worker()
        try:
            wait_until(lambda: owns_partitions(frozen) and owns_partitions(other), 60, "a group")
            wait_until(lambda: len(read_runs(events)) >= 200, 60, "jobs to flow")
            frozen_pid = frozen.process.pid
            taken_over = assignments(other)

            # When one worker is frozen (SIGSTOP) mid-load until the other has taken its keys
            # over and runs them, and then runs again (SIGCONT)
            stopped_ns, frozen_keys = freeze_mid_runs(frozen, events)
            wait_until(lambda: assignments(other) > taken_over, 60, "the other to take over")
            wait_until(
                lambda: keys_written_by(other, store, stopped_ns) >= frozen_keys,
                60,
                "the other to run and write the frozen worker's keys",
            )
            frozen.process.send_signal(signal.SIGCONT)
            resumed_ns = time.monotonic_ns()

            wait_until(lambda: finished(store) == KEYS, 120, "every key's last job")
            ends = end_offsets(cluster, topic, PARTITIONS)
            wait_until(lambda: committed(cluster, group, topic, PARTITIONS) == ends, 60, "commit")
            assert frozen.terminate() == 0
            assert other.terminate() == 0
        finally:
            frozen.stop()
            other.stop()
        runs = read_runs(events)

        # Then the overlaps are counted (the measure: a run of a key that starts while
        # another run of the key has not ended) and told apart
        judged = overlaps(
            Run(f"{r.key}/{r.seq}", r.key, r.seq, r.start_ns, r.end_ns or r.start_ns, r.pid)
            for r in runs
        )
        pairs = overlapping_pairs(runs)
        in_flight = [p for p in pairs if _zombie_run(p, frozen_pid, stopped_ns) is not None]
        started_late = [p for p in pairs if _started_late(p, frozen_pid, stopped_ns)]
        print(
            f"\noverlapping runs {len(judged.across)} (within one worker {len(judged.within)}); "
            f"pairs {len(pairs)}: {len(in_flight)} with a run in flight at the freeze, "
            f"{len(started_late)} with a run the frozen worker started after it; "
            f"frozen {(resumed_ns - stopped_ns) / 1e9:.1f}s"
        )
        assert judged.within == []
        # nothing the frozen worker started once it ran again overlaps another run of its key
        assert started_late == []
        # (the runs in flight at the freeze are what remains, and they did overlap: the
        # scenario did freeze a worker with work under way)
        assert in_flight

        # And the late writes of those runs were refused: the new owner's fence was higher
        frozen_runs = [
            r
            for r in runs
            if r.pid == frozen_pid and r.start_ns < stopped_ns < (r.end_ns or stopped_ns)
        ]
        lost_keys = {r.key for r in frozen_runs}
        zombie_generation = max(r.generation for r in frozen_runs)
        takeover_generations = {
            r.generation
            for r in runs
            if r.pid != frozen_pid and r.start_ns > stopped_ns and r.key in lost_keys
        }
        assert min(takeover_generations) > zombie_generation > 0
        late = [
            w
            for w in store.writes
            if w.pid == frozen_pid and w.at_ns > resumed_ns and w.generation == zombie_generation
        ]
        refused = [w for w in late if not w.written]
        print(f"late writes of the frozen worker: {len(late)}, refused {len(refused)}")
        assert refused
        # And every key's stored state is its last job's, whatever arrived late
        assert store.state() == {str(key): SEQS - 1 for key in range(KEYS)}


def keys_written_by(worker: WorkerProcess, store: FencedStore, since_ns: int) -> set[str]:
    pid = worker.process.pid
    return {w.key for w in list(store.writes) if w.pid == pid and w.at_ns > since_ns}


def finished(store: FencedStore) -> int:
    """How many keys' stored state is their last job's."""
    return sum(1 for seq in store.state().values() if seq == SEQS - 1)


def _zombie_run(pair: tuple[_Run, _Run], pid: int, stopped_ns: int) -> _Run | None:
    """The frozen worker's run of `pair` that was in flight when it was stopped, if any."""
    for run in pair:
        if run.pid == pid and run.start_ns < stopped_ns:
            return run
    return None


def _started_late(pair: tuple[_Run, _Run], pid: int, stopped_ns: int) -> bool:
    """Whether the frozen worker started a run of `pair` after it was stopped (after resuming)."""
    return any(run.pid == pid and run.start_ns > stopped_ns for run in pair)


def fence_recorder(group: str, fences: list[Fence]) -> App:
    """An app of `group` whose handler notes the fence of every run."""
    app = App(group)

    @app.handler(SendEmail)
    async def note(job: SendEmail, ctx: Context) -> None:
        fences.append(ctx.fence)

    return app


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
async def test_a_partition_that_changes_hands_runs_under_a_higher_fence_generation(
    cluster: Cluster, new_topic: Callable[..., str], protocol: str
) -> None:
    # Given one worker that runs jobs of both partitions of a topic
    topic = new_topic(f"fence-{protocol}", partitions=2)
    group = f"fence-{topic}"
    first: list[Fence] = []
    second: list[Fence] = []
    producer = JobProducer(cluster, topic)
    settings = worker_settings(cluster, [topic], group_protocol=protocol)
    async with running(fence_recorder(group, first), settings):
        producer.send_all(email(n, 0) for n in range(20))
        await wait_for(lambda: len(first) == 20, 60, "the first jobs")
        before = {fence.partition: fence.generation for fence in first}
        # When a second worker joins, takes a partition over, and more jobs come
        async with running(fence_recorder(group, second), settings):
            producer.send_all(email(n, 1) for n in range(20))
            await wait_for(lambda: len(first) + len(second) == 40, 60, "the later jobs")
    producer.close()
    # Then the fences carry a real generation, and the partition the second worker took runs
    # under a higher one than its first owner's
    assert sorted(before) == [0, 1]
    assert min(before.values()) > 0
    assert second
    assert all(fence.generation > before[fence.partition] for fence in second)
