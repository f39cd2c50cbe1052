"""The open-loop producer: jobs leave on a schedule, not when the system is ready for them.

Job i is *meant* to be sent at `start + i / rate`; that intended time is stamped into the job
before it is handed to the publisher. If the producer or the broker falls behind, the jobs keep
their intended times, and the delay shows up as end-to-end latency instead of vanishing (the
coordinated-omission trap of closed-loop load tests). With rate 0 it sends as fast as it can.

A chosen fraction of records are poison (random bytes, not Avro): the oracle expects to find
exactly those on the dead-letter topic.
"""

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from keel.load.jobs import LoadJob
from keel.load.keys import Skew, key_stream
from keel.load.oracle import SentJob
from keel.load.profile import job_identity
from keel.load.sent import SentLedger
from keel.producers import Delivery, Outcome, Publisher

_POISON_BYTES = 64


@dataclass(frozen=True)
class ProducePlan:
    """How many jobs, how fast, over which keys, how big, and how many are poison."""

    jobs: int
    rate: float = 0.0
    keys: int = 1000
    skew: Skew = Skew.UNIFORM
    payload_bytes: int = 0
    poison_rate: float = 0.0
    seed: int = 1


@dataclass(frozen=True)
class WarmUp:
    """The first job: published and waited for before the schedule starts (ns timestamps)."""

    job_id: str
    began_ns: int
    returned_ns: int


class OpenLoopProducer:
    """Sends a plan's jobs through keel's `Publisher`, poison through a raw producer.

    The first good job is published with `publish`, which waits for the broker's ack, and the
    schedule of the others starts when it returns. A fresh idempotent producer may wait up to
    half a second for its producer id (librdkafka retries `InitProducerId` on a fixed 500 ms
    timer when no broker was up at its first try); without the warm-up every run's first
    half-second of jobs carried that wait as latency. The first publish is reported on its
    own (`warm_up`).
    """

    def __init__(self, publisher: Publisher, raw: Producer, topic: str) -> None:
        self._publisher = publisher
        self._raw = raw
        self._topic = topic
        self.sent = SentLedger()
        self.failures: list[str] = []
        self.warm_up: WarmUp | None = None

    def run(self, plan: ProducePlan, progress: Callable[[int], None] | None = None) -> None:
        rng = random.Random(plan.seed)
        keys = key_stream(plan.skew, plan.keys, plan.seed)
        seqs: dict[str, itertools.count[int]] = {}
        payload = rng.randbytes(plan.payload_bytes)
        interval_ns = int(1e9 / plan.rate) if plan.rate > 0 else 0
        start = time.time_ns()
        for i in range(plan.jobs):
            intended = start + i * interval_ns
            _wait_until(intended)
            key = next(keys)
            if rng.random() < plan.poison_rate:
                self._poison(key, i, rng.randbytes(_POISON_BYTES))
            else:
                seq = next(seqs.setdefault(key, itertools.count()))
                job = LoadJob(key=key, seq=seq, intended_ns=intended, payload=payload)
                if self.warm_up is None:
                    start += self._warm_up(job) - intended  # the schedule starts from here
                else:
                    self._publisher.publish_nowait(job, key, self._recorder(key, seq))
            if progress is not None and i % 1000 == 999:
                progress(1000)
        self._publisher.flush()
        self._raw.flush()

    def _warm_up(self, job: LoadJob) -> int:
        """Publish `job` and wait for its ack; when the call returned (ns)."""
        began = time.time_ns()
        delivery = self._publisher.publish(job, job.key)
        returned = time.time_ns()
        self.sent.add(job.key, job.seq, delivery.partition, delivery.offset)
        self.warm_up = WarmUp(job_identity(job.key, job.seq), began, returned)
        return returned

    def _recorder(self, key: str, seq: int) -> Callable[[Outcome], None]:
        def record(outcome: Outcome) -> None:
            if isinstance(outcome, Delivery):
                self.sent.add(key, seq, outcome.partition, outcome.offset)
            else:
                self.failures.append(str(outcome))

        return record

    def _poison(self, key: str, index: int, value: bytes) -> None:
        identity = f"poison:{index}"

        def record(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                self.failures.append(f"{identity}: {error}")
                return
            self.sent.add_poison(
                SentJob(
                    identity, key, -1, message.partition() or 0, message.offset() or 0, poison=True
                )
            )

        self._raw.produce(self._topic, key=key.encode(), value=value, on_delivery=record)
        self._raw.poll(0)


def _wait_until(intended_ns: int) -> None:
    # Sleep only when more than a millisecond ahead: sleeping per job would cap the rate.
    ahead = intended_ns - time.time_ns()
    if ahead > 1_000_000:
        time.sleep(ahead / 1e9)
