"""Publishing into a lane: a route's lanes, their topics, and what `priority=` may not do."""

from collections.abc import Callable

import pytest

from keel.consumers.permissions import required
from keel.deploy.strimzi import TopicPolicy, kafka_topics, publisher_acls, worker_acls
from keel.producers.errors import PriorityError
from keel.producers.records import RecordBuilder
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import with_dead_letters
from keel.schemas.catalog import JobCatalog
from keel.schemas.job import Job
from tests.support.jobs import catalog_of


class Resize(Job):
    n: int


class Charge(Job):
    n: int


class Refund(Job):
    n: int


CATALOG = catalog_of(Resize, Charge, Refund, ordered=[Charge, Refund])


class FakeCodec:
    """The two things `RecordBuilder` asks of a `JobCodec`: the catalog and an encoder."""

    def __init__(self, catalog: JobCatalog) -> None:
        self.catalog = catalog
        self.subjects: list[str] = []

    def encoder(self, model: type[Job], topic: str) -> Callable[[Job], bytes]:
        self.subjects.append(topic)
        return lambda job: b"x"


ROUTES = {
    Resize.get_fullname(): Route(topic="images", lanes=("high", "low")),
    Charge.get_fullname(): Route(topic="payments", priority="high", lanes=("default",)),
    Refund.get_fullname(): Route(topic="refunds", lanes=("low",), priority_per_publish=True),
}


def builder() -> tuple[RecordBuilder, FakeCodec]:
    codec = FakeCodec(CATALOG)
    return RecordBuilder(codec, ProducerSettings(routes=ROUTES)), codec  # type: ignore[arg-type]


def test_a_route_lists_its_lanes_highest_first() -> None:
    assert ROUTES[Resize.get_fullname()].lane_topics() == {
        "high": "images.high",
        "default": "images",
        "low": "images.low",
    }
    assert Route(topic="t").lane_topics() == {"default": "t"}
    assert Route(topic="t", priority="low").lane_topics() == {"low": "t.low"}


def test_every_lane_topic_is_a_job_topic() -> None:
    settings = ProducerSettings(routes=ROUTES)
    assert settings.topics() == {
        "images.high": 12,
        "images": 12,
        "images.low": 12,
        "payments.high": 12,
        "payments": 12,
        "refunds": 12,
        "refunds.low": 12,
    }


def test_a_job_goes_to_its_routes_lane_unless_the_publish_names_one() -> None:
    records, codec = builder()
    record = records.build(Resize(n=1), None)
    assert record.topic == "images"
    assert records.in_lane(record, Resize(n=1), None).topic == "images"
    assert records.in_lane(record, Resize(n=1), "high").topic == "images.high"
    assert records.in_lane(record, Resize(n=1), 9).topic == "images.high"
    assert records.in_lane(record, Resize(n=1), 0).topic == "images.low"
    assert records.in_lane(record, Resize(n=1), 5).topic == "images"
    assert records.build(Charge(n=1), "order-1").topic == "payments.high"
    assert codec.subjects == ["images", "payments"]  # one subject per type, whatever the lane


def test_a_lane_the_route_lacks_is_refused() -> None:
    records, _ = builder()
    record = records.build(Refund(n=1), "r1")
    with pytest.raises(PriorityError, match="no 'high' lane"):
        records.in_lane(record, Refund(n=1), "high")
    assert records.in_lane(record, Refund(n=1), "low").topic == "refunds.low"


def test_an_ordered_type_refuses_priority_unless_its_route_allows_it() -> None:
    records, _ = builder()
    record = records.build(Charge(n=1), "order-1")
    with pytest.raises(PriorityError, match="ordered"):
        records.in_lane(record, Charge(n=1), "default")


@pytest.mark.parametrize("priority", [10, "urgent", -1])
def test_a_priority_that_names_no_lane_is_refused(priority: str | int) -> None:
    records, _ = builder()
    record = records.build(Resize(n=1), None)
    with pytest.raises(PriorityError, match="priority"):
        records.in_lane(record, Resize(n=1), priority)  # type: ignore[arg-type]


def test_lane_topics_are_created_deployed_and_granted_like_any_job_topic() -> None:
    topics = ProducerSettings(routes=ROUTES).topics()
    assert {"images.high.dlt", "images.low.dlt", "refunds.low.dlt"} <= set(
        with_dead_letters(topics)
    )
    names = {m["spec"]["topicName"] for m in kafka_topics(topics, TopicPolicy())}
    assert {"images.high", "images.high.dlt", "payments.high", "refunds.low"} <= names
    granted = {(acl.name, acl.operations) for acl in worker_acls(topics, "shop")}
    assert ("images.low", ("Read", "Describe")) in granted
    assert ("images.low.dlt", ("Write", "Describe")) in granted
    assert ("payments.high", ("Write", "Describe")) in {
        (acl.name, acl.operations) for acl in publisher_acls(topics)
    }
    needs = {(n.name, n.operation.name) for n in required("shop", ["images.high", "images"])}
    assert {("images.high", "READ"), ("images.high.dlt", "WRITE")} <= needs
