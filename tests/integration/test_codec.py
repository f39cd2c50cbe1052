"""The codec against the real registry: Confluent framing, byte-identical to confluent-kafka's
serializer, evolution in both directions, and every reason a record is poison."""

import json
import struct
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pydantic
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from keel.schemas import schema_registry as subjects
from keel.schemas.catalog import JobCatalog, JobType
from keel.schemas.codec import JobCodec
from keel.schemas.demo import DEMO_AVRO_DIR, DEMO_MODULE, SendEmail, demo_catalog
from keel.schemas.errors import (
    DecodeError,
    IncompatibleSchemaError,
    InvalidJobError,
    RegistryUnavailableError,
    SchemaRejectedError,
    TruncatedError,
    UnknownJobTypeError,
    UnknownSchemaIdError,
)
from keel.schemas.generate import render
from keel.schemas.job import Job
from tests.support import jobs
from tests.support.cluster import Cluster
from tests.support.topics import unique_name

SAMPLES: list[Callable[[], Job]] = [jobs.send_email, jobs.generate_report, jobs.process_payment]


@pytest.fixture
def client(cluster: Cluster) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": cluster.registry_url}) as registry_client:
        yield registry_client


@pytest.fixture
def codec(client: SchemaRegistryClient) -> JobCodec:
    return JobCodec(client, demo_catalog())


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.__name__)
def test_every_reference_job_round_trips(codec: JobCodec, sample: Callable[[], Job]) -> None:
    job = sample()

    assert codec.decode(codec.encode(job, unique_name("jobs"))) == job


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.__name__)
def test_bytes_are_identical_to_confluent_avro_serializer(
    client: SchemaRegistryClient, codec: JobCodec, sample: Callable[[], Job]
) -> None:
    # Given confluent-kafka's own serializer, configured with the same subject strategy
    job = sample()
    job_type = codec.catalog.of(type(job))
    topic = unique_name("jobs")
    reference = AvroSerializer(
        client,
        job_type.schema_str,
        lambda obj, _ctx: obj.model_dump(),
        {"subject.name.strategy": lambda ctx, name: subjects.subject_name(ctx.topic, name)},
    )

    # When both encode the same job for the same topic
    theirs = reference(job, SerializationContext(topic, MessageField.VALUE))
    ours = codec.encode(job, topic)

    # Then the bytes are the same, framing included, and any Confluent client reads ours
    assert ours == theirs
    assert ours[0] == 0
    # A fixed "no subject" strategy: the client's default in 2.16 first asks the registry for
    # subject associations, an API Apicurio does not serve, and that request can stall.
    deserializer = AvroDeserializer(client, conf={"subject.name.strategy": lambda _c, _n: None})
    decoded = deserializer(ours, SerializationContext(topic, MessageField.VALUE))
    assert type(job).model_validate(decoded) == job


def test_schema_id_is_the_registered_one(client: SchemaRegistryClient, codec: JobCodec) -> None:
    topic = unique_name("jobs")

    value = codec.encode(jobs.send_email(), topic)

    latest = client.get_latest_version(subjects.subject_name(topic, "keel.jobs.SendEmail"))
    assert struct.unpack(">I", value[1:5])[0] == latest.schema_id


# The id is far above any this registry has handed out, so its answer is "not found".
UNKNOWN_SCHEMA_ID = 0x7FFFFFF0


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (None, "truncated", "empty value"),
        (b"", "truncated", "empty value"),
        (b"\x01\x00\x00\x00\x01abc", "wrong-magic-byte", "first byte is 1, not 0"),
        (b'{"json": true}', "wrong-magic-byte", "first byte is 123, not 0"),
        (b"\x00\x00\x01", "truncated", "3 bytes is shorter than the framing"),
    ],
)
def test_poison_values_are_refused_with_a_reason(
    codec: JobCodec, value: bytes | None, reason: str, message: str
) -> None:
    with pytest.raises(DecodeError) as refused:
        codec.decode(value)
    assert (refused.value.reason, str(refused.value)) == (reason, message)


def test_an_unknown_schema_id_is_refused_with_the_registry_s_own_message(codec: JobCodec) -> None:
    with pytest.raises(UnknownSchemaIdError) as refused:
        codec.decode(struct.pack(">bI", 0, UNKNOWN_SCHEMA_ID))
    assert refused.value.reason == "unknown-schema-id"
    # What the registry answered (its error 40403), passed on after the id it was asked about.
    registry_says = f"Schema {UNKNOWN_SCHEMA_ID} not found."
    assert str(refused.value) == f"schema id {UNKNOWN_SCHEMA_ID}: {registry_says}"


def test_truncated_body_is_refused(codec: JobCodec) -> None:
    value = codec.encode(jobs.send_email(), unique_name("jobs"))

    with pytest.raises(TruncatedError) as refused:
        codec.decode(value[:-8])
    assert refused.value.reason == "truncated"


def test_schema_of_a_type_outside_the_catalog_is_refused(
    client: SchemaRegistryClient, codec: JobCodec
) -> None:
    foreign = {"type": "record", "name": "Other", "namespace": "elsewhere", "fields": []}
    schema_id = client.register_schema(unique_name("other"), Schema(json.dumps(foreign), "AVRO"))

    with pytest.raises(UnknownJobTypeError) as refused:
        codec.decode(struct.pack(">bI", 0, schema_id))
    assert refused.value.reason == "unknown-job-type"


class _Strict(Job):
    name: str = pydantic.Field(min_length=1)

    class Meta:
        namespace = "keel.test"


_STRICT_SCHEMA = {
    "type": "record",
    "name": "_Strict",
    "namespace": "keel.test",
    "fields": [{"name": "name", "type": "string"}],
}


def test_readable_record_that_fails_validation_is_invalid(client: SchemaRegistryClient) -> None:
    # Given a model stricter than its schema (a non-empty name), and a record with an empty one
    codec = JobCodec(client, JobCatalog([JobType.from_schema(_Strict, _STRICT_SCHEMA)]))
    value = codec.encode(_Strict.model_construct(name=""), unique_name("strict"))

    with pytest.raises(InvalidJobError) as refused:
        codec.decode(value)
    assert refused.value.reason == "invalid-job"


def test_uuid_text_that_is_no_uuid_is_an_invalid_job(codec: JobCodec) -> None:
    # Given a record whose uuid field holds text that is no UUID (the Avro type is a string)
    fields: dict[str, Any] = {"user_id": "not-a-uuid", "to": "a@b.c", "template": "w"}
    job = SendEmail.model_construct(**fields)
    value = codec.encode(job, unique_name("jobs"))

    # When it is decoded, Then the model refuses it: the reader left the text to the model
    with pytest.raises(InvalidJobError) as refused:
        codec.decode(value)
    assert "user_id" in str(refused.value)


class _StrictIds(Job):
    model_config = pydantic.ConfigDict(strict=True, frozen=True, extra="forbid")
    id: UUID

    class Meta:
        namespace = "keel.test"


def test_a_strict_model_still_gets_uuid_objects(client: SchemaRegistryClient) -> None:
    # Given a model in strict mode, which refuses a UUID given as text
    schema = {
        "type": "record",
        "name": "_StrictIds",
        "namespace": "keel.test",
        "fields": [{"name": "id", "type": {"type": "string", "logicalType": "uuid"}}],
    }
    codec = JobCodec(client, JobCatalog([JobType.from_schema(_StrictIds, schema)]))
    job = _StrictIds(id=uuid4())

    # When it round-trips, Then the reader converted the text itself
    assert codec.decode(codec.encode(job, unique_name("strict"))) == job


def test_writer_schema_the_model_cannot_read_is_incompatible(client: SchemaRegistryClient) -> None:
    # Given a writer whose `name` is an int, registered under another subject
    writer = {**_STRICT_SCHEMA, "fields": [{"name": "name", "type": "int"}]}
    schema_id = client.register_schema(unique_name("strict"), Schema(json.dumps(writer), "AVRO"))
    codec = JobCodec(client, JobCatalog([JobType.from_schema(_Strict, _STRICT_SCHEMA)]))

    with pytest.raises(IncompatibleSchemaError) as refused:
        codec.decode(struct.pack(">bI", 0, schema_id) + b"\x02")
    assert refused.value.reason == "incompatible-schema"


def _send_email_v1() -> JobType:
    """SendEmail as it was in v1, with a model generated from the kept v1 schema."""
    schema = json.loads((DEMO_AVRO_DIR / "history" / "send_email" / "v1.avsc").read_text())
    namespace: dict[str, Any] = {}
    exec(render([schema], DEMO_MODULE, DEMO_AVRO_DIR), namespace)  # noqa: S102 - our own generator's output
    return JobType.from_schema(namespace["SendEmail"], schema)


def test_job_written_by_v1_is_read_by_v2(client: SchemaRegistryClient) -> None:
    # Given a v1 producer and a v2 worker on one topic, and the subject checked BACKWARD
    topic = unique_name("jobs")
    v1 = _send_email_v1()
    old = JobCodec(client, JobCatalog([v1]))
    new = JobCodec(client, demo_catalog())
    job = v1.model.model_validate({"user_id": uuid4(), "to": "a@b.c", "template": "w"})
    value = old.encode(job, topic)

    # When v2 code reads the v1 record, Then the added field takes its default
    decoded = new.decode(value)
    assert isinstance(decoded, SendEmail)
    assert (decoded.to, decoded.locale) == ("a@b.c", "en")


def test_job_written_by_v2_is_read_by_v1(client: SchemaRegistryClient) -> None:
    topic = unique_name("jobs")
    v1 = _send_email_v1()
    old = JobCodec(client, JobCatalog([v1]))
    new = JobCodec(client, demo_catalog())
    job = jobs.send_email()

    decoded = old.decode(new.encode(job, topic))

    assert type(decoded) is v1.model
    assert decoded.model_dump() == job.model_dump(exclude={"locale"})


def test_incompatible_change_is_refused_with_the_registry_reason(
    client: SchemaRegistryClient,
) -> None:
    # Given v2 of SendEmail registered on a topic, BACKWARD
    topic = unique_name("jobs")
    JobCodec(client, demo_catalog()).encode(jobs.send_email(), topic)
    client.set_compatibility(subjects.subject_name(topic, "keel.jobs.SendEmail"), "BACKWARD")
    # When a v3 adds a required field without a default
    v3 = json.loads(demo_catalog().of(SendEmail).schema_str)
    v3["fields"].append({"name": "priority", "type": "int"})

    # Then registering is refused, and the message is the registry's
    with pytest.raises(SchemaRejectedError) as refused:
        subjects.register(
            client, subjects.subject_name(topic, "keel.jobs.SendEmail"), json.dumps(v3)
        )
    assert "Incompatible" in str(refused.value)
    assert "priority" in str(refused.value)


def test_registry_down_is_a_clear_error_not_a_poison_record() -> None:
    with SchemaRegistryClient({"url": "http://127.0.0.1:9/apis", "max.retries": 0}) as down:
        codec = JobCodec(down, demo_catalog())
        with pytest.raises(RegistryUnavailableError, match="did not answer"):
            codec.prepare(SendEmail, "jobs")
        with pytest.raises(RegistryUnavailableError):
            codec.decode(b"\x00\x00\x00\x00\x01\x02")
