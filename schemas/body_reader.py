"""The Avro body of one job, read with fastavro's compiled record reader.

`schemaless_reader` does work per call that is the same for every record of a schema id: it
compares the writer schema with the reader schema, builds fresh named-type tables and parses
both schemas into them again, builds an options dict, and matches the two records' names before
it reads a byte. For a small job that was about a sixth of the whole read (SendEmail, 6.5 µs
against 5.5 µs; docs/benchmarks.md "The worker"). A schema id's writer and reader schemas are
known when its reader is made, so `BodyReader` does all of that once and then calls fastavro's
`read_record` on each body: every byte is still read, and every schema resolved, by fastavro.
A unit test holds its records to `schemaless_reader`'s.

`read_record` and `match_schemas` are fastavro's compiled module's (not in its `__all__`).
Where fastavro runs without that module, or cannot match the two records up front,
`body_reader` returns None and the codec keeps `schemaless_reader`, which then says why per
record.
"""

import importlib
from collections.abc import Callable
from io import BytesIO
from typing import Any

import fastavro

# fastavro's `read_record(fo, writer_schema, named_schemas, reader_schema, options)`.
ReadRecord = Callable[[BytesIO, Any, dict[str, Any], Any, dict[str, Any]], object]
# What `schemaless_reader` passes when called with its defaults.
_OPTIONS: dict[str, Any] = {
    "return_record_name": False,
    "return_record_name_override": False,
    "handle_unicode_errors": "strict",
    "return_named_type": False,
    "return_named_type_override": False,
}


class BodyReader:
    """Reads the Avro body of records written with one schema into another's fields."""

    __slots__ = ("_named", "_read_record", "_reader", "_writer")

    def __init__(
        self,
        writer: dict[str, Any],
        reader: dict[str, Any] | None,
        named: dict[str, Any],
        read_record: ReadRecord,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._named = named
        self._read_record = read_record

    def read(self, body: BytesIO) -> object:
        """The record at `body`'s position; fastavro's errors (EOFError...) pass through."""
        return self._read_record(body, self._writer, self._named, self._reader, _OPTIONS)


def body_reader(writer: dict[str, Any], reader: dict[str, Any] | None) -> BodyReader | None:
    """A `BodyReader` for the parsed writer and reader record schemas (None: the same).

    None without fastavro's compiled reader, or when the two records do not match by name.
    """
    try:
        compiled = importlib.import_module("fastavro._read")
    except ImportError:
        return None
    read_record: ReadRecord | None = getattr(compiled, "read_record", None)
    match_schemas: Callable[..., Any] | None = getattr(compiled, "match_schemas", None)
    if read_record is None or match_schemas is None:
        return None
    # Both are parsed already: parsing again only collects their named types, as each
    # `schemaless_reader` call did.
    named: dict[str, Any] = {"writer": {}, "reader": {}}
    fastavro.parse_schema(writer, named["writer"])
    if reader is not None:
        fastavro.parse_schema(reader, named["reader"])
        if match_schemas(writer, reader, named, False) is None:
            return None
    return BodyReader(writer, reader, named, read_record)
