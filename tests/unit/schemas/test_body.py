"""The field-by-field Avro body: the same bytes as fastavro's `schemaless_writer`, and UUID text
the same as Python's."""

import random
from collections.abc import Callable
from io import BytesIO
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastavro import schemaless_writer

from keel.schemas.body import BodyWriter, body_writer, uuid_text
from keel.schemas.codec import _Writer
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.errors import EncodeError
from keel.schemas.headers import new_job_id
from keel.schemas.job import Job
from tests.support import jobs


def _send_email_without_options() -> Job:
    # The nullable union's null branch and an empty map.
    return SendEmail(user_id=uuid4(), to="a@example.com", template="welcome")


SAMPLES: list[Callable[[], Job]] = [
    jobs.send_email,
    jobs.generate_report,
    jobs.process_payment,
    _send_email_without_options,
]


def _writer_for(job: Job) -> tuple[BodyWriter, dict[str, Any]]:
    parsed = demo_catalog().of(type(job)).parsed
    writer = body_writer(parsed)
    assert writer is not None, "fastavro's compiled writer is installed with keel's wheels"
    return writer, parsed


def _fastavro_body(parsed: dict[str, Any], record: dict[str, Any]) -> bytes:
    out = BytesIO()
    schemaless_writer(out, parsed, record)
    return out.getvalue()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.__name__)
@pytest.mark.parametrize("dump", [False, True], ids=["fields", "model_dump"])
def test_body_is_byte_identical_to_schemaless_writer(sample: Callable[[], Job], dump: bool) -> None:
    job = sample()
    writer, parsed = _writer_for(job)
    record = job.model_dump() if dump else job.__dict__

    out = bytearray(b"prefix")
    writer.write(out, record)

    assert bytes(out) == b"prefix" + _fastavro_body(parsed, record)


def test_a_value_that_does_not_fit_raises_fastavro_s_error() -> None:
    job = jobs.send_email()
    writer, _ = _writer_for(job)

    with pytest.raises(TypeError, match="to"):
        writer.write(bytearray(), {**job.__dict__, "to": 42})


def test_a_missing_field_raises_key_error() -> None:
    job = jobs.send_email()
    writer, _ = _writer_for(job)
    record = dict(job.__dict__)
    del record["locale"]

    with pytest.raises(KeyError, match="locale"):
        writer.write(bytearray(), record)


def test_uuid_text_is_python_s_text() -> None:
    rng = random.Random(7)
    edges = [UUID(int=0), UUID(int=(1 << 128) - 1), UUID(int=1), UUID(int=1 << 127)]
    samples = [UUID(int=rng.getrandbits(128)) for _ in range(2_000)] + [uuid4(), UUID(new_job_id())]

    for value in edges + samples:
        assert uuid_text(value) == str(value)


def test_uuid_fields_reach_fastavro_as_their_text() -> None:
    # Given a write_data that records what it is handed (fastavro's would accept both forms)
    seen: dict[str, Any] = {}

    def recording(out: bytearray, value: Any, schema: Any, named: Any, name: str, *_: Any) -> None:
        seen[name] = value

    job = jobs.generate_report()
    writer = BodyWriter(demo_catalog().of(type(job)).parsed, recording)

    # When the job's body is written
    writer.write(bytearray(), job.__dict__)

    # Then its uuid fields went over as text, so fastavro skips Python's slower `UUID.__str__`
    assert seen["report_id"] == str(job.report_id)
    assert seen["requested_by"] == str(job.requested_by)
    assert seen["kind"] == job.kind


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.__name__)
def test_the_codec_frames_the_same_bytes_with_or_without_the_compiled_writer(
    sample: Callable[[], Job],
) -> None:
    job = sample()
    parsed = demo_catalog().of(type(job)).parsed
    flat = True  # no demo job nests a record
    prefix = b"\x00\x00\x00\x00\x07"

    by_field = _Writer(prefix, parsed, flat, body_writer(parsed)).encode(job)
    by_schemaless_writer = _Writer(prefix, parsed, flat, None).encode(job)

    assert by_field == by_schemaless_writer
    assert by_field.startswith(prefix)


@pytest.mark.parametrize("body", [True, False], ids=["by-field", "schemaless-writer"])
def test_a_job_that_skipped_validation_and_does_not_fit_is_an_encode_error(body: bool) -> None:
    parsed = demo_catalog().of(SendEmail).parsed
    writer = _Writer(b"\x00\x00\x00\x00\x07", parsed, True, body_writer(parsed) if body else None)
    # model_construct skips validation: a number where the schema has a string
    unfit = SendEmail.model_construct(user_id=uuid4(), to=42, template="welcome")  # type: ignore[arg-type]

    with pytest.raises(EncodeError, match="SendEmail does not fit its schema"):
        writer.encode(unfit)
