"""From a final status to what `result()` hands back: the decoded result, or an error.

A result is stored as Confluent-framed Avro, its writer schema in the registry. Given the
result model, it decodes into that model (schema resolution included, like a job); without one,
into plain Avro values (a dict), read with the writer's schema.
"""

import json
import struct
from io import BytesIO
from typing import Any, TypeVar, overload

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.producers.status.errors import JobFailedError, NoResultError, ResultTimeoutError
from keel.schemas import schema_registry
from keel.schemas.catalog import JobCatalog
from keel.schemas.codec import JobCodec
from keel.schemas.job import Job
from keel.schemas.status.record import JobStatus

R = TypeVar("R", bound=Job)
_PREFIX = struct.Struct(">bI")
PlainResult = dict[str, Any]  # a result read without its model: Avro values by field name


@overload
def outcome(status: JobStatus, registry: SchemaRegistryClient, model: type[R]) -> R: ...
@overload
def outcome(
    status: JobStatus, registry: SchemaRegistryClient, model: None = None
) -> PlainResult: ...
def outcome(
    status: JobStatus, registry: SchemaRegistryClient, model: type[R] | None = None
) -> R | PlainResult:
    """The result of a job whose wait ended with `status`; raises when there is none."""
    check_final(status)
    if status.result is None:
        why = status.error or "its job type declares no result model (keel_result)"
        raise NoResultError(f"job {status.job_id} is done without a result: {why}", status)
    if model is not None:
        codec = JobCodec(registry, JobCatalog.from_models([model]), auto_register=False)
        decoded = codec.decode(status.result)
        if not isinstance(decoded, model):
            raise TypeError(f"{type(decoded).__name__} is not {model.__name__}")
        return decoded
    return plain(status.result, registry)


def check_final(status: JobStatus) -> None:
    """Raise unless the job is done: timed out (not final), dead-lettered, expired or cancelled."""
    if status.state in {"dead_lettered", "expired", "cancelled"}:
        raise JobFailedError(f"job {status.job_id} was {status.state}: {status.reason}", status)
    if status.state != "done":
        raise ResultTimeoutError(
            f"job {status.job_id} has not ended in time; last status {status.state}"
            + (f" ({status.reason})" if status.reason else "")
            + (f", behind {status.blocked_by}" if status.blocked_by else ""),
            status,
        )


def plain(value: bytes, registry: SchemaRegistryClient) -> PlainResult:
    """A framed Avro value as plain values, read with the writer's schema from the registry."""
    _magic, schema_id = _PREFIX.unpack_from(value)
    schema = fastavro.parse_schema(json.loads(schema_registry.fetch(registry, schema_id)))
    body = BytesIO(value)
    body.seek(_PREFIX.size)
    record = fastavro.schemaless_reader(body, schema, None)
    if not isinstance(record, dict):
        raise TypeError(f"a result must be an Avro record, not {type(record).__name__}")
    return record
