"""The Avro body of one job, written field by field with fastavro's compiled `write_data`.

fastavro's `schemaless_writer` does work per call that is the same for every job of a type: it
reads the parsed schema's named types again, builds an options dict and a buffer, and its record
writer builds two sets per record to find fields the schema lacks, which only its strict mode
uses. For a small job that was a quarter of the encode (SendEmail, thread CPU: 3.8-4.2 µs
against 2.8 µs; docs/benchmarks.md "Publishing"). A job type's fields are known when its writer
is made, so `BodyWriter` calls fastavro's `write_data` once per field, in the schema's order:
Avro encodes a record as its fields' encodings one after another, and every value is still
encoded by fastavro. A unit test holds the bytes to `schemaless_writer`'s.

A top-level `uuid` field is handed to fastavro as its text, made by uuid-utils in Rust, with the
plain `string` schema its logical type is written as: fastavro would look the logical type up and
call Python's `UUID.__str__`, twice as slow, for the same characters.

`write_data` is fastavro's compiled module's (it is not in fastavro's `__all__`, and its
pure-Python twin takes an encoder instead of a bytearray). Where fastavro runs without its
compiled module, `body_writer` returns None and the codec keeps `schemaless_writer`.
"""

import importlib
from collections.abc import Callable
from typing import Any
from uuid import UUID

import fastavro
import uuid_utils

# fastavro's `write_data(out, datum, schema, named_schemas, field_name, options)`.
WriteData = Callable[[bytearray, Any, Any, dict[str, Any], str, dict[str, Any]], None]
# What `schemaless_writer` passes when called with its defaults: not strict.
_OPTIONS: dict[str, Any] = {
    "strict": False,
    "strict_allow_default": False,
    "disable_tuple_notation": False,
}


def uuid_text(value: UUID) -> str:
    """The canonical text of a UUID (`str(value)`), made in Rust: 0.27 µs against 0.53 µs."""
    return str(uuid_utils.UUID(int=value.int))


class BodyWriter:
    """Appends the Avro body of a record of one schema to a bytearray."""

    __slots__ = ("_fields", "_named", "_write_data")

    def __init__(self, parsed: dict[str, Any], write_data: WriteData) -> None:
        self._write_data = write_data
        self._named: dict[str, Any] = {}
        fastavro.parse_schema(parsed, self._named)  # parsed once already: this collects names
        self._fields = tuple(
            (field["name"], "string", True)
            if _is_uuid(field["type"])
            else (field["name"], field["type"], False)
            for field in parsed["fields"]
        )

    def write(self, out: bytearray, record: dict[str, Any]) -> None:
        """Append `record`'s body; fastavro's errors (TypeError, ValueError...) pass through.

        `record` holds every field of the schema, as a job model's `__dict__` and `model_dump`
        do; a missing one raises `KeyError`.
        """
        write_data, named = self._write_data, self._named
        for name, schema, is_uuid in self._fields:
            value = record[name]
            if is_uuid and isinstance(value, UUID):
                value = uuid_text(value)
            write_data(out, value, schema, named, name, _OPTIONS)


def body_writer(parsed: dict[str, Any]) -> BodyWriter | None:
    """A `BodyWriter` for the parsed record schema, or None without fastavro's compiled writer."""
    write_data = compiled_write_data()
    return None if write_data is None else BodyWriter(parsed, write_data)


def compiled_write_data() -> WriteData | None:
    """fastavro's compiled `write_data`, or None where fastavro runs as pure Python."""
    try:
        compiled = importlib.import_module("fastavro._write")
    except ImportError:
        return None
    found: WriteData | None = getattr(compiled, "write_data", None)
    return found


def _is_uuid(schema: object) -> bool:
    # A `fixed` uuid (Avro 1.12) holds 16 bytes, not text: only string ones are handed text.
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and schema.get("logicalType") == "uuid"
    )
