"""What the status recorder writes for each transition, read off a fake producer."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keel.consumers.context import Context
from keel.consumers.pipeline.observer import FAILED, PROCESSED, RETRIED, Observers
from keel.consumers.status.recorder import StatusRecorder, Tracked
from keel.consumers.status.results import RESULT_BOX, returning
from keel.consumers.status.window import BATCH_CHARS
from keel.schemas.headers import JOB_ID
from keel.schemas.job import Job
from keel.schemas.status.record import BATCH_PREFIX, JobStatus, find, partition_of

TRACKED = "svc.Tracked"
WITH_RESULT = "svc.Asked"


class Answer(Job):
    value: int


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes, bytes, int]] = field(default_factory=list)
    config: dict[str, object] = field(default_factory=dict)
    full: bool = False
    reports: list[Callable[[Any, Any], None]] = field(default_factory=list)

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        partition: int,
        on_delivery: Callable[[Any, Any], None],
    ) -> None:
        if self.full:
            raise BufferError
        self.sent.append((topic, value, key, partition))
        self.reports.append(on_delivery)

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return len(self.reports)


class FakeError:
    def str(self) -> str:
        return "broker said no"


@dataclass
class FakeRecord:
    job_id: str

    def headers(self) -> list[tuple[str, bytes]]:
        return [(JOB_ID, self.job_id.encode())]


@dataclass(eq=False)
class FakeAttempt:
    """The engine's state of a record while an attempt of it runs (`Attempt`)."""

    message: FakeRecord
    job_type: str
    attempt: int
    started: float


@dataclass
class FakeEngine:
    """The attempts under way, as `Engine.under_way` lists them."""

    running: list[FakeAttempt] = field(default_factory=list)

    def under_way(self) -> list[FakeAttempt]:
        return list(self.running)


@dataclass
class FakeLoop:
    windows: list[float] = field(default_factory=list)
    due: list[Callable[[], None]] = field(default_factory=list)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> None:
        self.windows.append(seconds)
        self.due.append(callback)

    def tick(self) -> None:
        self.due.pop(0)()


ENGINE = FakeEngine()


def recorder(
    loop: FakeLoop | None = None, engine: FakeEngine = ENGINE
) -> tuple[StatusRecorder, FakeProducer]:
    producer = FakeProducer()

    def make(extra: dict[str, object]) -> Any:
        producer.config = extra
        return producer

    def encode(result: Job) -> bytes:
        return b"avro:" + result.model_dump_json().encode()

    tracked = Tracked(frozenset({TRACKED, WITH_RESULT}), {WITH_RESULT: (Answer, encode)})
    later = (loop or FakeLoop()).call_later
    status = StatusRecorder(make, "keel.status", 3, tracked, later=later, linger_s=0.1)
    engine.running.clear()
    status.watch(engine.under_way)  # type: ignore[arg-type]
    return status, producer


def sent(status: StatusRecorder, producer: FakeProducer) -> list[JobStatus]:
    """What the recorder sends at the end of its window."""
    status.send()
    return statuses(producer)


def statuses(producer: FakeProducer) -> list[JobStatus]:
    """Every status in the batches sent, in the order they were sent (a batch's entries first)."""
    found = []
    for _topic, value, key, _partition in producer.sent:
        for job_id in named(value):
            found.append(find(key, value, job_id))
    return [status for status in found if status is not None]


def named(value: bytes) -> list[str]:
    """The job ids a batch holds, as entries and as rows of plain `done`s."""
    batch = json.loads(value)
    rows = [job_id for group in batch.get("done", ()) for job_id in group["job_ids"]]
    return [entry["job_id"] for entry in batch["statuses"]] + rows


def start(
    status: StatusRecorder,
    record: FakeRecord,
    job_type: str,
    attempt: int = 1,
    engine: FakeEngine = ENGINE,
) -> FakeAttempt:
    """An attempt begins, as the engine begins one: under way, then in its scope."""
    under_way = FakeAttempt(record, job_type, attempt, time.perf_counter())
    engine.running.append(under_way)
    status.attempt_scope(record, Context(record.job_id, job_type, attempt, b"k"))  # type: ignore[arg-type]
    return under_way


def end(
    status: StatusRecorder,
    attempt: FakeAttempt,
    outcome: str = PROCESSED,
    *,
    seconds: float = 0.1,
    error: BaseException | None = None,
    engine: FakeEngine = ENGINE,
) -> None:
    """The attempt settles: no longer under way, then its end is told."""
    engine.running.remove(attempt)
    status.attempt_ended(attempt.job_type, outcome, seconds, attempt, error)  # type: ignore[arg-type]


def ran_a_window(status: StatusRecorder) -> None:
    """Two window ends: an attempt begun before the first is under way for a whole window."""
    status.send()
    status.send()


def test_an_untracked_job_writes_nothing() -> None:
    status, producer = recorder()
    record = FakeRecord("job-0")
    end(status, start(status, record, "svc.Other"))
    status.retry_scheduled(record, "svc.Other", 1, 1.0, ValueError())  # type: ignore[arg-type]
    status.letter_written(record, "svc.Other", "error")  # type: ignore[arg-type]
    assert sent(status, producer) == []


def test_a_window_ends_every_linger_and_sends_each_jobs_latest_once() -> None:
    loop = FakeLoop()
    status, producer = recorder(loop)
    assert loop.windows == [0.1]  # watching: the first window is under way
    one = start(status, FakeRecord("job-a"), TRACKED)
    start(status, FakeRecord("job-b"), TRACKED)
    end(status, one)
    assert producer.sent == []  # nothing before the window ends
    loop.tick()
    assert [(s.job_id, s.state) for s in statuses(producer)] == [("job-a", "done")]
    assert loop.windows == [0.1, 0.1]  # the next window
    loop.tick()  # job-b has now run for a whole window
    assert [(s.job_id, s.state) for s in statuses(producer)][1:] == [("job-b", "running")]


def test_a_job_shorter_than_a_window_is_never_running_only_done() -> None:
    status, producer = recorder()
    quick = start(status, FakeRecord("job-q"), TRACKED)
    status.send()
    end(status, quick, seconds=0.05)
    status.send()
    assert [(s.job_id, s.state) for s in statuses(producer)] == [("job-q", "done")]


def test_close_ends_the_windows() -> None:
    loop = FakeLoop()
    status, producer = recorder(loop)
    end(status, start(status, FakeRecord("job-c"), TRACKED))
    status.close(0)
    assert [s.state for s in statuses(producer)] == ["done"]
    loop.tick()  # the window that was due: it sends nothing and opens none
    assert loop.windows == [0.1]
    assert len(producer.sent) == 1


def test_a_job_runs_then_is_done_keyed_by_id_on_its_partition() -> None:
    status, producer = recorder()
    attempt = start(status, FakeRecord("job-1"), TRACKED, attempt=1)
    ran_a_window(status)
    end(status, attempt)
    running, done = sent(status, producer)
    assert (running.state, running.attempt, running.worker) == ("running", 1, status.worker)
    assert running.started_ms is not None
    assert (done.state, done.attempt, done.started_ms) == ("done", 1, running.started_ms)
    assert done.finished_ms is not None
    assert done.result is None
    assert [part for _t, _v, _key, part in producer.sent] == [partition_of("job-1", 3)] * 2
    first, second = (key for _t, _v, key, _part in producer.sent)
    assert first.startswith(BATCH_PREFIX)
    assert first != second  # a batch's key never repeats: compaction keeps them all


def test_a_result_types_returned_value_is_encoded_into_its_done_status() -> None:
    status, producer = recorder()
    attempt = start(status, FakeRecord("job-2"), WITH_RESULT)
    # The handler runs in the attempt's scope: here, the box the recorder just set
    returning(lambda job, ctx: Answer(value=7), is_async=False)(None, None)
    end(status, attempt)
    RESULT_BOX.set(None)
    assert sent(status, producer)[-1].result == b'avro:{"value":7}'


def test_a_result_that_does_not_fit_its_model_is_done_with_the_error_and_no_result() -> None:
    status, producer = recorder()
    attempt = start(status, FakeRecord("job-3"), WITH_RESULT)
    returning(lambda job, ctx: {"value": "seven"}, is_async=False)(None, None)
    end(status, attempt)
    RESULT_BOX.set(None)
    done = sent(status, producer)[-1]
    assert done.state == "done"
    assert done.result is None
    assert (done.error or "").startswith("result invalid")


def test_a_failure_to_be_retried_writes_retrying_with_the_next_time() -> None:
    status, producer = recorder()
    record = FakeRecord("job-4")
    end(status, start(status, record, TRACKED), RETRIED, error=ValueError("busy"))
    status.retry_scheduled(record, TRACKED, 1, 2.5, ValueError("busy"))  # type: ignore[arg-type]
    retrying = sent(status, producer)[-1]
    assert (retrying.state, retrying.attempt, retrying.error) == ("retrying", 1, "ValueError: busy")
    assert retrying.at_ms is not None
    assert retrying.next_attempt_ms == retrying.at_ms + 2_500


def test_a_dead_letter_is_written_once_acknowledged_with_its_reason() -> None:
    status, producer = recorder()
    record = FakeRecord("job-5")
    attempt = start(status, record, TRACKED)
    ran_a_window(status)
    end(status, attempt, FAILED, error=ValueError())
    assert [s.state for s in sent(status, producer)] == ["running"]  # nothing new until then
    status.letter_written(record, TRACKED, "rejected: bad input")  # type: ignore[arg-type]
    dead = sent(status, producer)[-1]
    assert (dead.state, dead.reason) == ("dead_lettered", "rejected: bad input")


def test_a_dropped_expired_job_is_expired_and_a_dead_lettered_one_waits_for_its_letter() -> None:
    status, producer = recorder()
    status.job_expired(FakeRecord("job-6"), TRACKED, "dead-letter")  # type: ignore[arg-type]
    assert sent(status, producer) == []
    status.job_expired(FakeRecord("job-6"), TRACKED, "drop")  # type: ignore[arg-type]
    assert [(s.state, s.reason) for s in sent(status, producer)] == [("expired", "expired")]


def test_a_window_sends_one_batch_per_partition_holding_only_that_partitions_jobs() -> None:
    status, producer = recorder()
    ids = [f"job-{n}" for n in range(30)]
    for job_id in ids:
        start(status, FakeRecord(job_id), TRACKED)
    ran_a_window(status)
    partitions = {partition_of(job_id, 3) for job_id in ids}
    assert sorted(part for _t, _v, _key, part in producer.sent) == sorted(partitions)
    for _topic, value, _key, part in producer.sent:
        batch = json.loads(value)
        assert batch["worker"] == status.worker
        assert {e["job_id"] for e in batch["statuses"]} == {
            job_id for job_id in ids if partition_of(job_id, 3) == part
        }


def test_a_large_window_is_cut_into_batches_below_the_record_limit() -> None:
    status, producer = recorder()
    many = [f"job-{n}" for n in range(2_500)]
    for job_id in many:
        start(status, FakeRecord(job_id), TRACKED)
    ran_a_window(status)
    assert max(len(json.loads(v)["statuses"]) for _t, v, _k, _p in producer.sent) <= 1_000
    assert sorted(s.job_id for s in statuses(producer)) == sorted(many)


def test_statuses_of_a_batch_not_delivered_are_counted_and_at_close_the_unreported_too() -> None:
    status, producer = recorder()
    for n in range(3):
        start(status, FakeRecord(f"job-{n}"), TRACKED)
    ran_a_window(status)
    failed = producer.reports.pop(0)
    failed(FakeError(), None)
    assert status.dropped == sum(
        len(json.loads(value)["statuses"]) for _t, value, _k, _p in producer.sent[:1]
    )
    before = status.dropped
    status.close(0)  # the rest never reported: counted as not sent
    assert status.dropped == before + (3 - before)


def test_a_job_still_running_after_a_window_is_running_once_then_done() -> None:
    status, producer = recorder()
    slow = start(status, FakeRecord("job-slow"), TRACKED, attempt=2)
    ran_a_window(status)
    end(status, start(status, FakeRecord("job-quick"), TRACKED))
    status.send()  # the slow job is not written again: it was announced
    end(status, slow)
    status.send()
    assert [(s.job_id, s.state, s.attempt) for s in statuses(producer)] == [
        ("job-slow", "running", 2),
        ("job-quick", "done", 1),
        ("job-slow", "done", 2),
    ]


def test_a_parked_job_is_parked_behind_its_blocker_and_a_later_run_writes_over_it() -> None:
    status, producer = recorder()
    record = FakeRecord("job-11")
    status.job_parked(record, TRACKED, "blocker-id")  # type: ignore[arg-type]
    parked = sent(status, producer)[-1]
    assert (parked.state, parked.reason, parked.blocked_by) == (
        "parked",
        "quarantined",
        "blocker-id",
    )
    end(status, start(status, record, TRACKED))  # replayed behind its blocker, it runs
    done = sent(status, producer)[-1]
    assert (done.state, done.blocked_by) == ("done", None)


def test_a_parked_job_of_an_untracked_type_writes_nothing() -> None:
    status, producer = recorder()
    status.job_parked(FakeRecord("job-12"), "svc.Other", "blocker-id")  # type: ignore[arg-type]
    status.job_parked(FakeRecord("job-13"), None, "blocker-id")  # type: ignore[arg-type]
    assert sent(status, producer) == []


def test_a_full_queue_drops_the_status_and_counts_it_and_the_job_goes_on() -> None:
    status, producer = recorder()
    producer.full = True
    start(status, FakeRecord("job-7"), TRACKED)
    ran_a_window(status)
    assert status.dropped == 1


def test_the_observers_fan_out_the_new_hooks() -> None:
    status, producer = recorder()
    other, other_producer = recorder(engine=FakeEngine())
    both = Observers([status, other])
    both.letter_written(FakeRecord("job-8"), TRACKED, "why")  # type: ignore[arg-type]
    both.retry_scheduled(FakeRecord("job-9"), TRACKED, 1, 1.0, ValueError())  # type: ignore[arg-type]
    both.job_expired(FakeRecord("job-10"), TRACKED, "drop")  # type: ignore[arg-type]
    both.job_parked(FakeRecord("job-14"), TRACKED, "job-8")  # type: ignore[arg-type]
    for recorded, its_producer in ((status, producer), (other, other_producer)):
        states = [s.state for s in sent(recorded, its_producer)]
        assert states == ["dead_lettered", "retrying", "expired", "parked"]


def test_a_retrying_then_done_within_one_window_sends_only_the_done() -> None:
    status, producer = recorder()
    record = FakeRecord("job-15")
    end(status, start(status, record, TRACKED), RETRIED, error=ValueError())
    status.retry_scheduled(record, TRACKED, 1, 0.01, ValueError())  # type: ignore[arg-type]
    end(status, start(status, record, TRACKED, attempt=2))
    assert [(s.state, s.attempt) for s in sent(status, producer)] == [("done", 2)]
    assert [named(value) for _t, value, _k, _p in producer.sent] == [["job-15"]]


def test_a_transition_after_a_done_within_one_window_replaces_it() -> None:
    status, producer = recorder()
    parked, rerun = FakeRecord("job-16"), FakeRecord("job-17")
    first = start(status, rerun, TRACKED)  # delivered twice: this one runs on and on
    status.send()
    for record in (parked, rerun):
        end(status, start(status, record, TRACKED))
    status.job_parked(parked, TRACKED, "blocker-id")  # type: ignore[arg-type]  # a duplicate
    found = sorted((s.job_id, s.state) for s in sent(status, producer))
    assert first in ENGINE.running  # announced at the window's end: after the other's done
    assert found == [("job-16", "parked"), ("job-17", "running")]
    assert sorted(job_id for _t, value, _k, _p in producer.sent for job_id in named(value)) == [
        "job-16",
        "job-17",
    ]


def test_a_done_ends_its_handlers_seconds_after_its_start() -> None:
    status, producer = recorder()
    end(status, start(status, FakeRecord("job-18"), TRACKED, attempt=3), seconds=0.25)
    (done,) = sent(status, producer)
    assert done.started_ms is not None
    assert done.finished_ms is not None
    assert (done.attempt, done.at_ms) == (3, done.finished_ms)
    assert done.finished_ms - done.started_ms in (249, 250, 251)  # each rounded down to a ms
    assert abs(done.started_ms - time.time() * 1000) < 5_000


def test_a_large_window_of_dones_is_cut_into_batches_and_each_done_is_read() -> None:
    status, producer = recorder()
    many = [FakeRecord(f"job-{n}") for n in range(3_500)]
    for record in many:
        end(status, start(status, record, TRACKED), seconds=0.0)
    found = sent(status, producer)
    assert max(len(named(value)) for _t, value, _k, _p in producer.sent) <= 1_000
    assert len(producer.sent) > 3  # three partitions, at least one of them cut
    assert sorted(s.job_id for s in found) == sorted(r.job_id for r in many)
    assert {s.state for s in found} == {"done"}
    for _topic, value, _key, part in producer.sent:
        assert {partition_of(job_id, 3) for job_id in named(value)} == {part}


def test_dones_of_a_batch_not_delivered_are_counted() -> None:
    status, producer = recorder()
    for n in range(4):
        end(status, start(status, FakeRecord(f"job-{n}"), TRACKED), seconds=0.0)
    status.send()
    producer.reports[0](FakeError(), None)
    assert status.dropped == len(named(producer.sent[0][1]))
    assert status.dropped > 0


def test_dones_with_long_ids_are_cut_at_the_batch_size_in_characters() -> None:
    status, producer = recorder()
    many = [FakeRecord(f"job-{n}-" + "x" * 3_000) for n in range(300)]  # 900 KB of ids
    for record in many:
        end(status, start(status, record, TRACKED), seconds=0.0)
    found = sent(status, producer)
    assert max(len(value) for _t, value, _k, _p in producer.sent) <= BATCH_CHARS + 200
    assert sorted(s.job_id for s in found) == sorted(r.job_id for r in many)


def test_a_status_larger_than_a_batch_goes_alone() -> None:
    status, producer = recorder()
    huge, small = FakeRecord("job-" + "x" * BATCH_CHARS), FakeRecord("job-small")
    for record in (huge, small):
        end(status, start(status, record, TRACKED), seconds=0.0)
    status.job_parked(FakeRecord("job-y" + "y" * BATCH_CHARS), TRACKED, "b")  # type: ignore[arg-type]
    assert len(sent(status, producer)) == 3


def test_dones_that_took_under_a_millisecond_leave_their_times_taken_out() -> None:
    status, producer = recorder()
    end(status, start(status, FakeRecord("job-19"), TRACKED), seconds=0.000_999)
    (done,) = sent(status, producer)
    assert done.finished_ms == done.started_ms
    (rows,) = json.loads(producer.sent[0][1])["done"]
    assert set(rows) == {"job_type", "job_ids", "started"}


def test_a_done_of_a_job_that_outlived_its_window_is_sent_at_the_next_windows_end() -> None:
    loop = FakeLoop()
    status, producer = recorder(loop)
    attempt = start(status, FakeRecord("job-20"), TRACKED)
    loop.tick()
    loop.tick()  # two windows end with the job still running: it is announced
    end(status, attempt, seconds=0.5)
    assert [s.state for s in statuses(producer)] == ["running"]
    loop.tick()
    assert [(s.job_id, s.state) for s in statuses(producer)] == [
        ("job-20", "running"),
        ("job-20", "done"),
    ]
