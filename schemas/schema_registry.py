"""Talking to the schema registry, with its failures turned into keel's errors.

Subjects follow the topic + record name strategy (`{topic}-{full name}`, what
confluent-kafka calls `topic_record_subject_name_strategy`). Several job types can then share a
topic, which is how all jobs of one entity stay in one partition and in order, while each type
still evolves under its own subject, and a type routed to two topics evolves separately in each.
"""

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx2
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from keel.schemas.errors import RegistryUnavailableError, SchemaRejectedError, UnknownSchemaIdError

AVRO = "AVRO"
_NOT_FOUND = 404
_SERVER_ERROR = 500
T = TypeVar("T")


def subject_name(topic: str, job_type: str) -> str:
    """The registry subject of job type `job_type` (Avro full name) on `topic`."""
    return f"{topic}-{job_type}"


def register(client: SchemaRegistryClient, subject: str, schema_str: str) -> int:
    """Register a schema under `subject` (a no-op if it is there); returns its id."""
    return _ask(lambda: client.register_schema(subject, Schema(schema_str, AVRO)))


def lookup(client: SchemaRegistryClient, subject: str, schema_str: str) -> int:
    """The id of a schema already registered under `subject`; refuses one that is not."""
    found = _ask(lambda: client.lookup_schema(subject, Schema(schema_str, AVRO)))
    if found.schema_id is None:
        raise SchemaRejectedError(f"the registry returned no id for {subject}")
    return found.schema_id


def fetch(client: SchemaRegistryClient, schema_id: int) -> str:
    """The text of schema `schema_id`; raises `UnknownSchemaIdError` when the registry has none."""
    try:
        schema = _ask(lambda: client.get_schema(schema_id))
    except SchemaRejectedError as unknown:
        raise UnknownSchemaIdError(f"schema id {schema_id}: {unknown}") from unknown
    if schema.schema_str is None:
        raise UnknownSchemaIdError(f"schema id {schema_id} has no text")
    return str(schema.schema_str)


def is_new(client: SchemaRegistryClient, subject: str) -> bool:
    """True when `subject` has no version registered yet."""
    try:
        client.get_versions(subject)
    except SchemaRegistryError as error:
        if error.http_status_code == _NOT_FOUND:
            return True
    except httpx2.HTTPError as error:
        raise RegistryUnavailableError(f"schema registry did not answer: {error}") from error
    return False


def compatibility(client: SchemaRegistryClient, subject: str, schema_str: str) -> dict[str, Any]:
    """The registry's verbose answer on `schema_str` against the latest version of `subject`.

    `{"is_compatible": bool, "messages": [...]}`. Asked through the client's REST session, the
    one that carries the registry's configuration: its public `test_compatibility` keeps only
    the boolean, and the messages are the reason `keel schemas check` shows.
    """
    path = f"compatibility/subjects/{quote(subject, safe='')}/versions/latest?verbose=true"
    body = {"schema": schema_str, "schemaType": AVRO}
    return dict(_ask(lambda: client._rest_client.post(path, body=body)))


def level(client: SchemaRegistryClient, subject: str) -> str:
    """The compatibility level set on `subject`, or "default" when it has none of its own."""
    try:
        return str(client.get_compatibility(subject))
    except (SchemaRegistryError, httpx2.HTTPError):
        return "default"


def _ask(call: Callable[[], T]) -> T:
    try:
        return call()
    except httpx2.HTTPError as error:
        raise RegistryUnavailableError(f"schema registry did not answer: {error}") from error
    except SchemaRegistryError as error:
        if error.http_status_code >= _SERVER_ERROR:
            message = f"schema registry failed: {error.error_message}"
            raise RegistryUnavailableError(message) from error
        raise SchemaRejectedError(error.error_message) from error
