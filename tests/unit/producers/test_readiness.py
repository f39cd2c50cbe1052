"""Opening a publisher warm: the pure parts of the wait (metadata read, id watch, bounds)."""

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from keel.producers.errors import BrokerUnavailableError
from keel.producers.readiness import ProducerIdWatch, wait_until_ready, watched

_ASSIGNED = "Idempotent producer state change WaitPID -> Assigned"


@dataclass
class _Partition:
    leader: int
    error: KafkaError | None = None


@dataclass
class _Topic:
    partitions: dict[int, _Partition]
    error: KafkaError | None = None


@dataclass
class _Metadata:
    topics: dict[str, _Topic]


@dataclass
class _Producer:
    """Answers `list_topics` from a script, one answer per call (the last one repeats)."""

    answers: list[_Metadata | None]
    calls: int = 0
    log: list[str] = field(default_factory=list)
    watch: ProducerIdWatch | None = None

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> _Metadata:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if answer is None:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return answer

    def poll(self, timeout: float) -> int:
        for line in self.log:  # librdkafka hands its log lines over from poll
            assert self.watch is not None
            self.watch.log(logging.DEBUG, "%s [%s] %s", "IDEMPSTATE", "rdkafka#producer-1", line)
        self.log = []
        return 0


def _led(*leaders: int) -> _Metadata:
    return _Metadata({"jobs": _Topic({n: _Partition(leader) for n, leader in enumerate(leaders)})})


def _wait(producer: _Producer, timeout_s: float, watch: ProducerIdWatch | None = None) -> None:
    wait_until_ready(producer, ["jobs"], timeout_s, watch)  # type: ignore[arg-type]


def test_waits_until_every_partition_has_a_leader() -> None:
    producer = _Producer([_led(1, -1), _led(1, -1), _led(1, 1)])

    _wait(producer, 10)

    assert producer.calls == 3


def test_a_missing_topic_is_left_for_publishing_to_report() -> None:
    missing = _Topic({}, KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
    producer = _Producer([_Metadata({"jobs": missing})])

    _wait(producer, 10)

    assert producer.calls == 1


def test_a_cluster_that_never_answers_fails_within_the_bound() -> None:
    producer = _Producer([None])

    with pytest.raises(BrokerUnavailableError, match=r"metadata of jobs within 0\.2 s"):
        _wait(producer, 0.2)


def test_a_topic_without_leaders_fails_within_the_bound() -> None:
    producer = _Producer([_led(-1)])

    with pytest.raises(BrokerUnavailableError, match="KEEL_OPEN_TIMEOUT_MS"):
        _wait(producer, 0.2)


def test_no_wait_at_all_with_a_zero_timeout() -> None:
    producer = _Producer([None])

    _wait(producer, 0)

    assert producer.calls == 0


def test_waits_for_the_producer_id_line() -> None:
    watch = ProducerIdWatch()
    producer = _Producer([_led(1)], log=["RequestPID -> WaitTransport", _ASSIGNED], watch=watch)

    _wait(producer, 10, watch)

    assert watch.assigned.is_set()


def test_no_producer_id_fails_within_the_bound() -> None:
    watch = ProducerIdWatch()
    producer = _Producer([_led(1)], log=["RequestPID -> WaitTransport"], watch=watch)

    with pytest.raises(BrokerUnavailableError, match="no producer id"):
        _wait(producer, 0.2, watch)


def test_the_watch_forwards_what_is_not_debug(caplog: pytest.LogCaptureFixture) -> None:
    watch = ProducerIdWatch()

    with caplog.at_level(logging.DEBUG, "keel.producers.librdkafka"):
        watch.log(logging.WARNING, "%s [%s] %s", "FAIL", "rdkafka#producer-1", "refused")
        watch.log(logging.DEBUG, "%s [%s] %s", "NEWPID", "rdkafka#producer-1", "noise")

    assert [r.getMessage() for r in caplog.records] == ["FAIL [rdkafka#producer-1] refused"]
    assert caplog.records[0].levelno == logging.WARNING


@pytest.mark.parametrize(
    ("config", "timeout_s"),
    [
        ({"enable.idempotence": False}, 10.0),
        ({"enable.idempotence": True}, 0.0),
        ({"enable.idempotence": True, "debug": "broker"}, 10.0),
        ({"enable.idempotence": True, "logger": logging.getLogger("mine")}, 10.0),
    ],
)
def test_no_watch_where_it_would_change_what_the_user_asked(
    config: dict[str, Any], timeout_s: float
) -> None:
    assert watched(config, timeout_s) == (config, None)


def test_an_idempotent_producer_logs_its_id_to_the_watch() -> None:
    config, watch = watched({"enable.idempotence": True, "acks": "all"}, 10.0)

    assert watch is not None
    assert config == {"enable.idempotence": True, "acks": "all", "debug": "eos", "logger": watch}
