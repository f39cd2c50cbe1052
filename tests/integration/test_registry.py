"""The session's schema registry speaks the Confluent API and enforces compatibility."""

import json
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.support.cluster import Cluster
from tests.support.topics import unique_name

_FIELDS: list[dict[str, object]] = [{"name": "text", "type": "string"}]
_V1 = {"type": "record", "name": "Greeting", "namespace": "dev.keel.test", "fields": _FIELDS}


def _schema(fields: list[dict[str, object]]) -> Schema:
    return Schema(json.dumps({**_V1, "fields": fields}), "AVRO")


@pytest.fixture
def registry(cluster: Cluster) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": cluster.registry_url}) as client:
        yield client


def test_registered_schema_is_fetched_back_by_id(registry: SchemaRegistryClient) -> None:
    subject = unique_name("greeting-value")
    schema_id = registry.register_schema(subject, _schema(_FIELDS))

    fetched = registry.get_schema(schema_id)

    assert fetched.schema_str is not None
    assert json.loads(fetched.schema_str) == _V1
    assert registry.get_latest_version(subject).schema_id == schema_id


def test_registry_refuses_a_field_added_without_default(registry: SchemaRegistryClient) -> None:
    subject = unique_name("greeting-value")
    registry.register_schema(subject, _schema(_FIELDS))
    registry.set_compatibility(subject, "BACKWARD")
    breaking = _schema([{"name": "text", "type": "string"}, {"name": "lang", "type": "string"}])
    compatible = _schema(
        [{"name": "text", "type": "string"}, {"name": "lang", "type": "string", "default": "en"}]
    )

    assert registry.test_compatibility(subject, compatible) is True
    assert registry.test_compatibility(subject, breaking) is False
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register_schema(subject, breaking)
    assert refused.value.http_status_code == 409
