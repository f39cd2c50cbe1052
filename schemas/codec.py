"""Jobs to bytes and back, in the Confluent wire format.

A value is the magic byte 0, the writer schema's registry id as 4 big-endian bytes, then the
Avro binary body; any Confluent-compatible client reads it. Encoding uses fastavro directly on
schemas parsed once, with confluent-kafka's registry client only for ids: confluent-kafka's own
`AvroSerializer` produces the same bytes (a test proves it) but costs too much per job for the
publish target.

Decoding fetches the writer schema by id once, then reads every later record with that
schema resolved to the local model's schema, so a job written by older or newer code still
decodes as long as the two are compatible. fastavro's record reader is set up once per schema
id (`keel.schemas.body_reader`), and UUIDs are read as their text and left for the model to
parse (see `_text_uuids`).
"""

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pydantic
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from keel.schemas import schema_registry
from keel.schemas.body import BodyWriter, body_writer
from keel.schemas.body_reader import BodyReader, body_reader
from keel.schemas.catalog import JobCatalog, full_name, parse_record_schema
from keel.schemas.errors import (
    EncodeError,
    IncompatibleSchemaError,
    InvalidJobError,
    SchemaRejectedError,
    TruncatedError,
    UnknownJobTypeError,
    WrongMagicByteError,
)
from keel.schemas.job import Job

MAGIC_BYTE = 0
_PREFIX = struct.Struct(">bI")
# What fastavro raises when the body ends early or holds bytes that are not the schema's Avro.
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_UNWRITABLE = (ValueError, TypeError, KeyError, AttributeError, OverflowError, struct.error)
_UNREADABLE = (EOFError, ValueError, IndexError, KeyError, TypeError, struct.error, OverflowError)


@dataclass(frozen=True, slots=True)
class _Writer:
    prefix: bytes
    parsed: dict[str, Any]
    # A job without nested records can hand fastavro its field dict as is: pydantic keeps the
    # validated values there, and fastavro writes UUIDs, datetimes, decimals and str enums
    # itself. Skipping `model_dump` is a measured third of the encode cost.
    flat: bool
    # fastavro's writer called per field (`keel.schemas.body`); None without its compiled module.
    body: BodyWriter | None

    def encode(self, job: Job) -> bytes:
        """The framed Avro value of `job`, whose type this writer was made for."""
        record = job.__dict__ if self.flat else job.model_dump(warnings=False)
        try:
            if self.body is None:
                return self._encode_with_schemaless_writer(record)
            out = bytearray(self.prefix)
            self.body.write(out, record)
        except _UNWRITABLE as error:
            raise EncodeError(f"{type(job).__name__} does not fit its schema: {error}") from error
        return bytes(out)

    def _encode_with_schemaless_writer(self, record: dict[str, Any]) -> bytes:
        out = BytesIO()
        out.write(self.prefix)
        schemaless_writer(out, self.parsed, record)
        return out.getvalue()


@dataclass(frozen=True, slots=True)
class _Reader:
    # The model's own pydantic-core validator, called directly: `model_validate` is a Python
    # wrapper around it that cost a fifth of the validation (~0.5 µs a job).
    validate: Callable[[dict[str, Any]], Job]
    writer: dict[str, Any]
    # None when writer and reader schemas are the same, so fastavro skips schema resolution.
    reader: dict[str, Any] | None
    # fastavro's record reader with the per-call work done once; None: `schemaless_reader`.
    body: BodyReader | None


class JobCodec:
    """Encodes jobs of a catalog for a topic and decodes any record back into a job.

    With `auto_register` a schema is registered the first time its type is encoded to a topic;
    without it the schema must already be registered (`keel schemas register`), which is the
    safer setting when a CI step owns the registry.
    """

    def __init__(
        self, client: SchemaRegistryClient, catalog: JobCatalog, *, auto_register: bool = True
    ) -> None:
        self._client = client
        self.catalog = catalog
        self._auto_register = auto_register
        self._writers: dict[tuple[type[Job], str], _Writer] = {}
        self._readers: dict[int, _Reader] = {}

    def prepare(self, model: type[Job], topic: str) -> int:
        """Resolve and cache the schema id of `model` on `topic`; returns it.

        A publisher calls this for every routed type when it opens, so an unreachable registry
        fails at start-up, and publishing needs no registry afterwards.
        """
        writer = self._writers.get((model, topic)) or self._writer(model, topic)
        return int(_PREFIX.unpack(writer.prefix)[1])

    def encode(self, job: Job, topic: str) -> bytes:
        """The framed Avro value of `job` for `topic`."""
        writer = self._writers.get((type(job), topic)) or self._writer(type(job), topic)
        return writer.encode(job)

    def encoder(self, model: type[Job], topic: str) -> Callable[[Job], bytes]:
        """`encode` for one type and topic, resolved once: what a publisher calls per job."""
        return (self._writers.get((model, topic)) or self._writer(model, topic)).encode

    def decode(self, value: bytes | None) -> Job:
        """The job in a framed Avro value; raises a `DecodeError` saying why it is poison."""
        if not value:
            raise TruncatedError("empty value")
        if value[0] != MAGIC_BYTE:
            raise WrongMagicByteError(f"first byte is {value[0]}, not {MAGIC_BYTE}")
        if len(value) < _PREFIX.size:
            raise TruncatedError(f"{len(value)} bytes is shorter than the framing")
        schema_id = _PREFIX.unpack_from(value)[1]
        reader = self._readers.get(schema_id) or self._reader(schema_id)
        return _validate(reader.validate, _read(reader, value))

    def warm(self, model: type[Job], topic: str) -> bool:
        """Resolve the reader of `model`'s schema as registered on `topic`, before any record.

        A worker calls this at start-up: otherwise its first record of each type waits for
        the registry (a connection and a lookup, 30-260 ms measured on a busy machine).
        False when the subject does not hold the schema yet (nothing published or registered);
        registry failures raise as for `prepare`.
        """
        job_type = self.catalog.of(model)
        subject = schema_registry.subject_name(topic, job_type.name)
        try:
            schema_id = schema_registry.lookup(self._client, subject, job_type.schema_str)
        except SchemaRejectedError:
            return False
        if schema_id not in self._readers:
            self._reader(schema_id)
        return True

    def _writer(self, model: type[Job], topic: str) -> _Writer:
        job_type = self.catalog.of(model)
        subject = schema_registry.subject_name(topic, job_type.name)
        ask = schema_registry.register if self._auto_register else schema_registry.lookup
        schema_id = ask(self._client, subject, job_type.schema_str)
        flat = not any(_nests_record(f["type"]) for f in job_type.parsed["fields"])
        writer = _Writer(
            _PREFIX.pack(MAGIC_BYTE, schema_id), job_type.parsed, flat, body_writer(job_type.parsed)
        )
        self._writers[(model, topic)] = writer
        return writer

    def _reader(self, schema_id: int) -> _Reader:
        writer_schema = json.loads(schema_registry.fetch(self._client, schema_id))
        name = full_name(writer_schema) if isinstance(writer_schema, dict) else str(writer_schema)
        job_type = self.catalog.get(name)
        if job_type is None:
            raise UnknownJobTypeError(f"schema id {schema_id} is {name}, which the catalog lacks")
        reader_schema = json.loads(job_type.schema_str)
        same = writer_schema == reader_schema
        if _parses_uuid_text(job_type.model):
            writer_schema = _text_uuids(writer_schema)
            reader_schema = _text_uuids(reader_schema)
        writer_parsed = parse_record_schema(writer_schema)
        reader_parsed = None if same else parse_record_schema(reader_schema)
        reader = _Reader(
            job_type.model.__pydantic_validator__.validate_python,
            writer_parsed,
            reader_parsed,
            body_reader(writer_parsed, reader_parsed),
        )
        self._readers[schema_id] = reader
        return reader


def _text_uuids(schema: object) -> object:
    """`schema` with its `uuid` strings read as plain strings.

    fastavro turns each into a `uuid.UUID` with the Python constructor, about 1.5 µs a field,
    15% of a small job's whole decode; pydantic-core parses the same text in Rust while it
    validates the field anyway, so the model gets the same `UUID` for a fraction of the cost.
    Text that is no UUID then fails validation (`InvalidJobError`) instead of the Avro read.
    """
    if isinstance(schema, list):
        return [_text_uuids(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "string" and schema.get("logicalType") == "uuid":
        return "string"
    copy: dict[str, Any] = dict(schema)
    if "fields" in copy:
        copy["fields"] = [{**f, "type": _text_uuids(f["type"])} for f in copy["fields"]]
    for nested in ("type", "items", "values"):
        if nested in copy and not isinstance(copy[nested], str):
            copy[nested] = _text_uuids(copy[nested])
    return copy


def _parses_uuid_text(model: type[Job]) -> bool:
    """Whether the model accepts a UUID as text: not in strict mode, which wants a `UUID`."""
    return not model.model_config.get("strict", False)


def _nests_record(schema: object) -> bool:
    """True when an Avro type may hold a record (a named type is assumed to: it might)."""
    if isinstance(schema, str):
        return schema not in _PRIMITIVES
    if isinstance(schema, list):
        return any(_nests_record(branch) for branch in schema)
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "record":
        return True
    return _nests_record(schema.get("items")) or _nests_record(schema.get("values"))


def _read(reader: _Reader, value: bytes) -> dict[str, Any]:
    body = BytesIO(value)
    body.seek(_PREFIX.size)
    record: object
    try:
        if reader.body is None:
            record = schemaless_reader(body, reader.writer, reader.reader)
        else:
            record = reader.body.read(body)
    except SchemaResolutionError as error:
        raise IncompatibleSchemaError(str(error)) from error
    except _UNREADABLE as error:
        raise TruncatedError(f"unreadable Avro: {error!r}") from error
    if not isinstance(record, dict):
        raise TruncatedError("the body is not an Avro record")
    return record


def _validate(validate: Callable[[dict[str, Any]], Job], record: dict[str, Any]) -> Job:
    try:
        return validate(record)
    except pydantic.ValidationError as error:
        raise InvalidJobError(str(error)) from error
