"""The contract as an AsyncAPI 3.0 document: `keel schemas asyncapi`.

Channels are the routed topics; each message is one job type's Avro schema, kept as Avro
(`schemaFormat` says which), with the record key and keel's headers described next to it and
the Kafka bindings saying how the value is framed (Confluent: schema id in the payload, looked
up by topic and record name). A service publishes to its channels and its workers receive from
them, so each channel has a send and a receive operation.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keel.schemas.avsc import SchemaFile
from keel.schemas.catalog import ORDERED_PROPERTY
from keel.schemas.headers import (
    ATTEMPT,
    CREATED_AT,
    JOB_ID,
    JOB_TYPE,
    SCHEDULE,
    SCHEDULED_FOR,
    TRACEPARENT,
)

ASYNCAPI_VERSION = "3.0.0"
AVRO_FORMAT = "application/vnd.apache.avro;version=1.9.0"
KAFKA_BINDING_VERSION = "0.5.0"

_REQUIRED_HEADERS = {
    JOB_ID: "The job's id, a UUIDv7: unique, and sortable by creation time.",
    JOB_TYPE: "The job type's Avro full name.",
    CREATED_AT: "When the job was first published, in epoch milliseconds (ASCII digits).",
    ATTEMPT: "Which attempt this record carries, from 1 (ASCII digits); a retry adds one.",
}
_OPTIONAL_HEADERS = {
    TRACEPARENT: "The W3C trace context of the span that published the job, when there was one.",
    SCHEDULE: "On a job a scheduler published: the schedule's name.",
    SCHEDULED_FOR: "On a job a scheduler published: the fire time it is for (epoch millis).",
}


@dataclass(frozen=True)
class Channel:
    """Where one job type is published: its topic and the topic's partition count."""

    topic: str
    partitions: int


def document(
    files: list[SchemaFile], routes: Mapping[str, Channel], title: str, version: str
) -> dict[str, Any]:
    """The AsyncAPI document of the routed job types among `files`."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for schema_file in files:
        route = routes.get(schema_file.name)
        if route is None:
            continue
        messages[schema_file.name] = _message(schema_file)
        channel = channels.setdefault(route.topic, _channel(route))
        channel["messages"][schema_file.name] = {
            "$ref": f"#/components/messages/{schema_file.name}"
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Background jobs on Apache Kafka, published and run with keel.",
        },
        "defaultContentType": "application/octet-stream",
        "channels": channels,
        "operations": _operations(channels),
        "components": {"messages": messages},
    }


def _channel(route: Channel) -> dict[str, Any]:
    return {
        "address": route.topic,
        "messages": {},
        "bindings": {
            "kafka": {
                "topic": route.topic,
                "partitions": route.partitions,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _operations(channels: dict[str, Any]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic, channel in channels.items():
        for action, verb in (("send", "Publish"), ("receive", "Run")):
            operations[f"{action}-{topic}"] = {
                "action": action,
                "summary": f"{verb} jobs on {topic}",
                "channel": {"$ref": f"#/channels/{topic}"},
                "messages": [
                    {"$ref": f"#/channels/{topic}/messages/{name}"} for name in channel["messages"]
                ],
            }
    return operations


def _message(schema_file: SchemaFile) -> dict[str, Any]:
    schema = schema_file.schema
    message: dict[str, Any] = {
        "name": schema_file.name,
        "title": str(schema["name"]),
        "description": (
            "Confluent wire format: magic byte 0, the writer schema's registry id (4 bytes, "
            "big-endian), then the Avro binary body. Registered under `{topic}-"
            f"{schema_file.name}`."
        ),
        "headers": _headers(),
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": schema},
        "bindings": {"kafka": _message_binding(bool(schema.get(ORDERED_PROPERTY, False)))},
    }
    if "doc" in schema:
        message["summary"] = str(schema["doc"])
    return message


def _message_binding(ordered: bool) -> dict[str, Any]:
    key = (
        "Required: the entity whose jobs must run in order; one key's jobs run one at a time."
        if ordered
        else "Optional: jobs of this type need no order; a key still keeps its jobs in order."
    )
    return {
        "key": {"type": "string" if ordered else ["string", "null"], "description": key},
        "schemaIdLocation": "payload",
        "schemaIdPayloadEncoding": "confluent",
        "schemaLookupStrategy": "TopicRecordNameStrategy",
        "bindingVersion": KAFKA_BINDING_VERSION,
    }


def _headers() -> dict[str, Any]:
    described = {**_REQUIRED_HEADERS, **_OPTIONAL_HEADERS}
    return {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": text} for name, text in described.items()
        },
        "required": list(_REQUIRED_HEADERS),
    }
