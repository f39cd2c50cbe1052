"""A record's value made readable: Avro in the Confluent wire format, decoded by its own schema.

The console knows no job models: it reads the writer schema named by the value's schema id from
the registry and decodes with that alone, so any job type shows, even one this process has
never imported. A value that is not framed Avro (poison, or a test's plain bytes) is shown as
text, or as hex when it is not UTF-8; the console never fails on a record it cannot decode.
"""

import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader

from keel.schemas import schema_registry
from keel.schemas.catalog import full_name
from keel.schemas.errors import KeelError

_PREFIX = struct.Struct(">bI")
_UNREADABLE = (EOFError, ValueError, IndexError, KeyError, TypeError, struct.error, OverflowError)


@dataclass(frozen=True)
class Body:
    """A value as shown: `text`, and what it was read as (`avro <name>`, `utf-8`, `hex`)."""

    text: str
    read_as: str
    problem: str | None = None


class BodyReader:
    """Decodes values, fetching each writer schema from the registry once."""

    def __init__(self, registry: SchemaRegistryClient) -> None:
        self._registry = registry
        self._schema = lru_cache(maxsize=256)(self._fetch)

    def read(self, value: bytes | None) -> Body:
        if value is None:
            return Body("", "no value (a tombstone or a marker)")
        if len(value) <= _PREFIX.size or value[0] != 0:
            return plain(value)
        schema_id = _PREFIX.unpack_from(value)[1]
        try:
            name, parsed = self._schema(schema_id)
            record = schemaless_reader(BytesIO(value[_PREFIX.size :]), parsed, None)
        except (KeelError, *_UNREADABLE) as error:
            return _unreadable(value, f"not decoded with schema id {schema_id}: {error}")
        return Body(json.dumps(record, indent=2, default=str), f"avro {name} (id {schema_id})")

    def _fetch(self, schema_id: int) -> tuple[str, Any]:
        schema = json.loads(schema_registry.fetch(self._registry, schema_id))
        name = full_name(schema) if isinstance(schema, dict) else str(schema)
        return name, parse_schema(schema)


def plain(value: bytes) -> Body:
    """A value that is not framed Avro, as text or hex."""
    try:
        return Body(value.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return Body(value.hex(" "), "hex")


def _unreadable(value: bytes, why: str) -> Body:
    shown = plain(value)
    return Body(shown.text, shown.read_as, why)
