"""`python -m keel.load.publish_steps`: the calling thread's CPU per step of a typed publish.

Each step of building a `SendEmail` record runs alone over the bench's sample values, timed by
`time.thread_time_ns` (ns per job, median of the rounds), beside the ways it was done before or
could be done: what docs/benchmarks.md "Publishing" tabulates. No broker and no registry: the
encode uses a fixed schema id, and `produce` queues to a producer whose broker does not answer
(purged after each round), which is librdkafka's queueing and confluent-kafka's argument
parsing without the network.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from keel.load.bench import sample_values
from keel.producers.records import Record, current_traceparent, encode_key
from keel.schemas import clients
from keel.schemas.body import body_writer, uuid_text
from keel.schemas.codec import _PREFIX, MAGIC_BYTE, _Writer
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.headers import new_job_id
from keel.schemas.settings import ClusterSettings

Step = Callable[[], object]
# Port 1 refuses at once; log level 0 keeps librdkafka's connection errors off the output.
_NO_BROKER = ClusterSettings(kafka_bootstrap_servers="127.0.0.1:1")


def steps(count: int) -> dict[str, Step]:
    """Each step as a loop over `count` sample jobs, each job one call (as `floor` shows)."""
    values = sample_values(count)
    jobs = [SendEmail(**v) for v in values]
    keys = [v["user_id"] for v in values]
    parsed = demo_catalog().of(SendEmail).parsed
    prefix = _PREFIX.pack(MAGIC_BYTE, 1)
    by_field = _Writer(prefix, parsed, True, body_writer(parsed))
    by_schemaless_writer = _Writer(prefix, parsed, True, None)
    return {
        "floor: the loop and one call": _each(lambda _: None, jobs),
        "validate: SendEmail(**fields)": _each(lambda v: SendEmail(**v), values),
        "model_dump()": _each(SendEmail.model_dump, jobs),
        "encode: schemaless_writer": _each(by_schemaless_writer.encode, jobs),
        "encode: write_data per field": _each(by_field.encode, jobs),
        "UUID text: str()": _each(str, keys),
        "UUID text: uuid-utils": _each(uuid_text, keys),
        "key: encode_key": _each(encode_key, keys),
        "job id": _each(lambda _: new_job_id(), jobs),
        "traceparent, no span": _each(lambda _: current_traceparent(), jobs),
        "Record()": _each(lambda _: Record("id", "t", b"k", b"v", []), jobs),
        **_produce_steps(count),
    }


def _each(call: Callable[[Any], object], items: list[Any]) -> Step:
    def run() -> None:
        for item in items:
            call(item)

    return run


def _produce_steps(count: int) -> dict[str, Step]:
    producer = clients.producer(_NO_BROKER, {"log_level": 0})
    headers: list[tuple[str, Any]] = [("keel-job-id", "x"), ("keel-attempt", b"1")]

    def by_keyword() -> None:
        for _ in range(count):
            producer.produce("t", b"v", b"k", partition=-1, headers=headers, on_delivery=None)
        _empty(producer)

    def by_position() -> None:
        for _ in range(count):
            producer.produce("t", b"v", b"k", -1, None, None, 0, headers)
        _empty(producer)

    return {"produce by keyword": by_keyword, "produce by position": by_position}


def _empty(producer: Producer) -> None:
    # Purged records leave librdkafka's count only once their reports are served.
    producer.purge()
    producer.poll(0)


def measure(step: Step, count: int, rounds: int) -> float:
    """ns of the calling thread's CPU per job, median of `rounds`."""
    runs = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        step()
        runs.append((time.thread_time_ns() - started) / count)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    for name, step in steps(args.jobs).items():
        print(f"{name:34s} {measure(step, args.jobs, args.rounds):8,.0f} ns")


if __name__ == "__main__":
    main()
