"""What job status adds to a worker's loop per job: `python -m keel.load.status_bench`.

No broker: the recorder's producer only keeps what it is handed.

Builds `--jobs` `confluent_kafka.Message` records with the headers a publisher writes (the job
id first), then alternates rounds of the engine's end call for every job, as the engine makes it
when an attempt succeeds:

1. baseline: the call into the metrics observer alone (a worker without status);
2. status: the same call into the metrics observer and a `StatusRecorder`, whose producer only
   keeps what it is handed, with a window's send every `--window` jobs (about one
   `KEEL_STATUS_LINGER_MS` window of a no-op worker).

It prints the thread CPU per job of each path (median and lowest of the rounds) and their
difference: the recorder's cost per job on the loop thread, hooks and sends together. The load
runs (`keel load run --status-cost`) measure the same cost in a whole worker, where the
machine's noise is larger than the cost; this isolates it. Numbers are printed, never asserted.
"""

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from confluent_kafka import Message

from keel.consumers.pipeline.observer import PROCESSED, EndHook, ended_hook, observers
from keel.consumers.pipeline.records import Message as Record
from keel.consumers.status.recorder import StatusRecorder, Tracked
from keel.consumers.telemetry.metrics import Metrics
from keel.schemas.headers import JOB_ID, new_job_id

JOB_TYPE = "keel.jobs.SendEmail"
_PARTITIONS = 6  # the status topic's default


@dataclass(slots=True)
class Finished:
    """An attempt at its end, as the engine hands it to the observers (`observer.Attempt`)."""

    message: Record
    job_type: str
    attempt: int
    started: float


class KeptProducer:
    """A producer that keeps each value it is handed, and sends nothing."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    def produce(self, topic: str, value: bytes, key: bytes, **kwargs: object) -> None:
        self.values.append(value)

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


def attempts(count: int) -> list[Finished]:
    """`count` ended attempts of one job type, each with its own job id, a partition of 12."""
    started = time.perf_counter()
    return [
        Finished(
            _consumed(
                topic="bench",
                partition=n % 12,
                offset=n,
                key=b"key-%d" % (n % 1000),
                value=b"\x00" * 64,
                headers=[(JOB_ID, new_job_id().encode()), ("traceparent", b"00-" + b"0" * 51)],
            ),
            JOB_TYPE,
            1,
            started + n * 20e-6,
        )
        for n in range(count)
    ]


def _consumed(**fields: object) -> Record:
    """A record as the consumer hands it over (the engine's view of a `Message`)."""
    return cast(Record, Message(**fields))  # type: ignore[arg-type]


def recorder(producer: KeptProducer) -> StatusRecorder:
    return StatusRecorder(
        lambda extra: producer,  # type: ignore[arg-type,return-value]
        "keel.status.bench",
        _PARTITIONS,
        Tracked(frozenset({JOB_TYPE})),
        later=lambda seconds, callback: None,  # windows are sent by `ends` itself
        linger_s=0.1,
    )


def ends(hook: EndHook, ended: Sequence[Finished], window: int, send: Callable[[], None]) -> float:
    """Thread CPU seconds per job of `hook` for every attempt, with `send` after each window."""
    began = time.thread_time()
    for start in range(0, len(ended), window):
        for attempt in ended[start : start + window]:
            hook(attempt.job_type, PROCESSED, 20e-6, attempt, None)
        send()
    return (time.thread_time() - began) / len(ended)


def rounds(count: int, window: int, how_many: int) -> tuple[list[float], list[float]]:
    """Baseline and status µs per job, a pair per round."""
    ended = attempts(count)
    plain: list[float] = []
    tracked: list[float] = []
    for _ in range(how_many):
        plain.append(ends(ended_hook(Metrics()), ended, window, lambda: None) * 1e6)
        status = recorder(KeptProducer())
        hook = ended_hook(observers([Metrics(), status]))
        tracked.append(ends(hook, ended, window, status.send) * 1e6)
    return plain, tracked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=3_000, help="Jobs per window's send.")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    plain, tracked = rounds(args.jobs, args.window, args.rounds)
    for name, spent in (("baseline", plain), ("with status", tracked)):
        rounded = ", ".join(f"{value:.2f}" for value in spent)
        print(f"{name:12s} {statistics.median(spent):5.2f} us/job (every round: {rounded})")
    added = [on - off for off, on in zip(plain, tracked, strict=True)]
    print(f"status adds  {statistics.median(added):5.2f} us/job (lowest {min(added):.2f})")


if __name__ == "__main__":
    main()
