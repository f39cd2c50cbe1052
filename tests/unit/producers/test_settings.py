"""Routing and librdkafka settings, read from the environment once."""

import pytest

from keel.producers.errors import NoRouteError
from keel.producers.settings import ProducerSettings, Route


def test_no_routes_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_ROUTES", raising=False)

    settings = ProducerSettings()

    assert settings.routes == {}
    assert settings.topics() == {}
    with pytest.raises(NoRouteError, match="KEEL_ROUTES"):
        settings.route("keel.jobs.SendEmail")


def test_routes_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_ROUTES", '{"acme.Invoice": {"topic": "billing", "partitions": 4}}')

    settings = ProducerSettings()

    assert settings.route("acme.Invoice") == Route(topic="billing", partitions=4)
    with pytest.raises(NoRouteError, match=r"keel\.jobs\.SendEmail"):
        settings.route("keel.jobs.SendEmail")


def test_shared_topic_gets_the_most_partitions_any_route_asks() -> None:
    settings = ProducerSettings(
        routes={"a.A": Route(topic="t", partitions=3), "a.B": Route(topic="t", partitions=6)}
    )

    assert settings.topics() == {"t": 6}


def test_safe_delivery_defaults_in_librdkafka_terms() -> None:
    config = ProducerSettings(librdkafka={"client.id": "svc"}).to_confluent()

    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["compression.type"] in {"lz4", "zstd"}
    assert config["linger.ms"] == 0  # latency first (docs/benchmarks.md, `linger.ms`)
    assert config["client.id"] == "svc"


def test_compatibility_is_backward_unless_named() -> None:
    settings = ProducerSettings(compatibility={"jobs.email-keel.jobs.SendEmail": "FULL"})

    assert settings.compatibility_of("jobs.email-keel.jobs.SendEmail") == "FULL"
    assert settings.compatibility_of("jobs.reports-keel.jobs.GenerateReport") == "BACKWARD"


def test_topic_names_are_checked() -> None:
    with pytest.raises(ValueError, match="topic"):
        Route(topic="no spaces allowed")
