"""A dead-letter producer replaced after a fatal error still owes its delivery reports.

The fake producer below holds writes the way librdkafka does: unsent in its queue, in flight to
the broker, or reported and waiting to be served by `poll`/`flush`.
"""

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError

from keel.consumers.dead_letters.kafka_sink import KafkaSink

Report = Callable[[KafkaError | None, object], None]
FATAL = KafkaError(KafkaError._FATAL, "idempotence sequence desynchronised", True)


class FakeProducer:
    def __init__(self) -> None:
        self.unsent: list[Report] = []
        self.in_flight: list[Report] = []
        self.reports: list[tuple[Report, KafkaError | None]] = []

    def produce(self, *_args: object, on_delivery: Report, **_kwargs: object) -> None:
        self.unsent.append(on_delivery)

    def send(self) -> None:
        self.in_flight += self.unsent
        self.unsent = []

    def answer(self, count: int, error: KafkaError | None = None) -> None:
        """The broker answers the `count` oldest writes in flight."""
        answered, self.in_flight = self.in_flight[:count], self.in_flight[count:]
        self.reports += [(report, error) for report in answered]

    def purge(self, *, in_queue: bool, in_flight: bool, blocking: bool) -> None:
        assert in_queue
        assert not in_flight
        purged = KafkaError(KafkaError._PURGE_QUEUE, "Local: Purged in queue")
        self.reports += [(report, purged) for report in self.unsent]
        self.unsent = []

    def poll(self, _timeout: float) -> int:
        served, self.reports = self.reports, []
        for report, error in served:
            report(error, None)
        return len(served)

    def flush(self, timeout: float) -> int:
        self.poll(timeout)
        return len(self)

    def __len__(self) -> int:
        return len(self.unsent) + len(self.in_flight) + len(self.reports)


class Outcomes:
    """What each write's `done` was told: None (acknowledged) or why it failed."""

    def __init__(self) -> None:
        self.told: dict[str, str | None] = {}

    def done(self, name: str) -> Callable[[str | None], None]:
        def done(error: str | None) -> None:
            assert name not in self.told, f"{name} reported twice"
            self.told[name] = error

        return done


async def served() -> None:
    """Let the sink's poll timer run a few times."""
    await asyncio.sleep(0.05)


def _sink(producers: list[FakeProducer]) -> KafkaSink:
    def connect(_extra: Mapping[str, Any]) -> Any:  # the fake stands in for a Producer
        producers.append(FakeProducer())
        return producers[-1]

    return KafkaSink(connect)


async def test_writes_of_a_replaced_producer_are_all_reported() -> None:
    # Given two writes in flight and one unsent on the first producer
    producers: list[FakeProducer] = []
    sink, outcomes = _sink(producers), Outcomes()
    for name in ("w1", "w2"):
        sink.publish("jobs.dlt", b"k", b"v", [], outcomes.done(name))
    producers[0].send()
    sink.publish("jobs.dlt", b"k", b"v", [], outcomes.done("w3"))
    old = producers[0]

    # When the first write fails fatally, and the broker later acknowledges the second
    old.answer(1, FATAL)
    await served()
    old.answer(1)
    await served()

    # Then the producer was replaced, and every write was reported: the fatal one and the purged
    # unsent one as failures (the writer sends them again), the one in flight as acknowledged
    assert len(producers) == 2
    assert outcomes.told.keys() == {"w1", "w2", "w3"}
    assert outcomes.told["w1"] is not None
    assert outcomes.told["w2"] is None
    assert outcomes.told["w3"] is not None
    assert len(old) == 0


async def test_a_retired_producers_fatal_report_leaves_its_successor_alone() -> None:
    # Given a producer replaced after a fatal error, with a second write still in flight
    producers: list[FakeProducer] = []
    sink, outcomes = _sink(producers), Outcomes()
    for name in ("w1", "w2"):
        sink.publish("jobs.dlt", b"k", b"v", [], outcomes.done(name))
    producers[0].send()
    producers[0].answer(1, FATAL)
    await served()

    # When that write fails fatally too
    producers[0].answer(1, FATAL)
    await served()

    # Then it is reported, and the new producer is kept
    assert outcomes.told.keys() == {"w1", "w2"}
    assert len(producers) == 2


async def test_close_serves_the_reports_a_retired_producer_still_owes() -> None:
    producers: list[FakeProducer] = []
    sink, outcomes = _sink(producers), Outcomes()
    for name in ("w1", "w2"):
        sink.publish("jobs.dlt", b"k", b"v", [], outcomes.done(name))
    producers[0].send()
    producers[0].answer(1, FATAL)
    await served()
    producers[0].answer(1)  # acknowledged, its report not yet served when the worker closes

    sink.close(1.0)

    assert outcomes.told.keys() == {"w1", "w2"}
    assert outcomes.told["w2"] is None
