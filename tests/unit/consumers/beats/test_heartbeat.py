"""The worker's beats against a fake producer: on a timer, with the previous counters, a
tombstone last, and a refusal logged once while the worker runs on."""

import asyncio
import logging
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from keel.consumers.beats import heartbeat
from keel.consumers.beats.beat import WorkerId, decode
from keel.consumers.beats.heartbeat import TOMBSTONE_WAIT_S, Heartbeat
from keel.consumers.telemetry.metrics import Snapshot
from keel.schemas import clients
from keel.schemas.beats import BeatSettings
from keel.schemas.settings import ClusterSettings

WORKER = WorkerId("g", "host", 7, None)


class FakeProducer:
    """Keeps what was produced; reports `error` for each on the next poll or flush."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.error: KafkaError | None = None
        self.raises: KafkaError | None = None
        self._reports: list[Any] = []
        self.flushed: list[float] = []  # the timeouts of each flush

    def produce(self, topic: str, value: bytes | None, key: bytes, on_delivery: Any) -> None:
        self.sent.append((topic, value, key))
        if self.raises is not None:  # as librdkafka does once it knows the topic is refused
            raise KafkaException(self.raises)
        self._reports.append(on_delivery)

    def poll(self, _timeout: float) -> int:
        reports, self._reports = self._reports, []
        for report in reports:
            report(self.error, None)
        return len(reports)

    def flush(self, timeout: float) -> int:
        self.flushed.append(timeout)
        self.poll(0)
        return 0


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    fake = FakeProducer()
    monkeypatch.setattr(heartbeat, "_ensure_topic", lambda cluster, settings: None)
    monkeypatch.setattr(clients, "producer", lambda cluster, config: fake)
    return fake


def beating(counts: dict[tuple[str, str], int], **settings: Any) -> Heartbeat:
    def read() -> Snapshot:
        return Snapshot(counts=dict(counts), durations={}, latencies={}, running=2)

    beats = BeatSettings(topic="beats", interval=0.01, **settings)
    return Heartbeat(beats, ClusterSettings(), WORKER, read)


async def beats_until(producer: FakeProducer, count: int) -> None:
    while len(producer.sent) < count:
        await asyncio.sleep(0.005)


async def test_beats_on_a_timer_each_with_the_counters_before_it_then_a_tombstone(
    producer: FakeProducer,
) -> None:
    counts = {("a.Email", "processed"): 1}
    beats = beating(counts)
    beats.start()
    await asyncio.wait_for(beats_until(producer, 1), 10)
    counts["a.Email", "processed"] = 4
    await asyncio.wait_for(beats_until(producer, 3), 10)
    await beats.stop(1.0)

    *sent, (topic, tombstone, key) = producer.sent
    assert (topic, tombstone, key) == ("beats", None, WORKER.key())
    found = [decode(value) for _, value, _ in sent if value is not None]
    assert len(found) == len(sent) >= 3
    first, second = found[0], found[1]
    assert first is not None
    assert second is not None
    assert (first.before, first.running, first.now.counts["processed"]) == (None, 2, 1)
    assert second.before == first.now
    assert second.now.counts["processed"] == 4
    assert {k for _, _, k in sent} == {WORKER.key()}


async def test_disabled_beats_publish_nothing(producer: FakeProducer) -> None:
    beats = beating({}, enabled=False)
    beats.start()
    await asyncio.sleep(0.05)
    await beats.stop(1.0)
    assert producer.sent == []


@pytest.mark.parametrize("at_once", [False, True])
async def test_a_refused_topic_is_logged_once_and_the_beats_go_on(
    producer: FakeProducer, caplog: pytest.LogCaptureFixture, at_once: bool
) -> None:
    refused = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    if at_once:  # `produce` raises
        producer.raises = refused
    else:  # the delivery report says so
        producer.error = refused
    beats = beating({})
    with caplog.at_level(logging.WARNING, heartbeat.__name__):
        beats.start()
        await asyncio.wait_for(beats_until(producer, 5), 10)
        await beats.stop(1.0)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "not authorized to Write topic beats" in warnings[0]


@pytest.mark.parametrize(("refused", "waited"), [(False, [TOMBSTONE_WAIT_S]), (True, [0.0])])
async def test_a_stop_waits_for_the_tombstone_briefly_and_not_at_all_while_beats_fail(
    producer: FakeProducer, refused: bool, waited: list[float]
) -> None:
    if refused:
        producer.error = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    beats = beating({})
    beats.start()
    await asyncio.wait_for(beats_until(producer, 2), 10)
    await beats.stop(30.0)
    assert producer.sent[-1][1] is None
    assert producer.flushed == waited
