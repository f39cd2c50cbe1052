"""The Avro body read with fastavro's record reader and the per-call work done once: the same
records as `schemaless_reader`, with and without schema resolution, and the same errors."""

import json
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from keel.schemas.body_reader import body_reader
from keel.schemas.catalog import parse_record_schema
from keel.schemas.codec import _UNREADABLE
from keel.schemas.demo import DEMO_AVRO_DIR, SendEmail, demo_catalog
from keel.schemas.job import Job
from tests.support import jobs

SAMPLES: list[Callable[[], Job]] = [jobs.send_email, jobs.generate_report, jobs.process_payment]


def _body(parsed: dict[str, Any], record: dict[str, Any]) -> bytes:
    out = BytesIO()
    schemaless_writer(out, parsed, record)
    return out.getvalue()


def _send_email_v1() -> dict[str, Any]:
    path = DEMO_AVRO_DIR / "history" / "send_email" / "v1.avsc"
    return parse_record_schema(json.loads(path.read_text()))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.__name__)
def test_a_body_reads_as_schemaless_reader_reads_it(sample: Callable[[], Job]) -> None:
    job = sample()
    parsed = demo_catalog().of(type(job)).parsed
    body = _body(parsed, job.model_dump())
    reader = body_reader(parsed, None)
    assert reader is not None, "fastavro's compiled reader is installed with keel's wheels"

    read = reader.read(BytesIO(body))

    assert read == schemaless_reader(BytesIO(body), parsed, None)
    assert type(job).model_validate(read) == job


def test_a_v1_body_read_into_v2_takes_the_added_field_s_default() -> None:
    v1, v2 = _send_email_v1(), demo_catalog().of(SendEmail).parsed
    body = _body(v1, {"user_id": jobs.send_email().user_id, "to": "a@b.c", "template": "w"})
    reader = body_reader(v1, v2)
    assert reader is not None

    read = reader.read(BytesIO(body))

    assert read == schemaless_reader(BytesIO(body), v1, v2)
    assert isinstance(read, dict)
    assert read["locale"] == "en"


def test_a_v2_body_read_into_v1_drops_the_field_v1_lacks() -> None:
    v1, v2 = _send_email_v1(), demo_catalog().of(SendEmail).parsed
    job = jobs.send_email()
    body = _body(v2, job.model_dump())
    reader = body_reader(v2, v1)
    assert reader is not None

    read = reader.read(BytesIO(body))

    assert read == schemaless_reader(BytesIO(body), v2, v1)
    assert isinstance(read, dict)
    assert "locale" not in read


def test_records_of_other_names_get_no_reader() -> None:
    # Then the codec keeps `schemaless_reader`, which says why on each record
    v2 = demo_catalog().of(SendEmail).parsed
    other = parse_record_schema({**v2, "name": "SendLetter"})

    assert body_reader(v2, other) is None


def test_a_field_the_reader_cannot_take_raises_fastavro_s_resolution_error() -> None:
    v2 = demo_catalog().of(SendEmail).parsed
    fields = [{**f, "type": "int"} if f["name"] == "to" else f for f in v2["fields"]]
    reader = body_reader(v2, parse_record_schema({**v2, "fields": fields}))
    assert reader is not None
    body = _body(v2, jobs.send_email().model_dump())

    with pytest.raises(SchemaResolutionError):
        reader.read(BytesIO(body))


@pytest.mark.parametrize("cut", [1, 3, 20])
def test_a_truncated_body_raises_as_schemaless_reader_does(cut: int) -> None:
    parsed = demo_catalog().of(SendEmail).parsed
    body = _body(parsed, jobs.send_email().model_dump())[:-cut]
    reader = body_reader(parsed, None)
    assert reader is not None

    with pytest.raises(Exception) as by_schemaless_reader:  # noqa: PT011 - compared below
        schemaless_reader(BytesIO(body), parsed, None)
    with pytest.raises(type(by_schemaless_reader.value)):
        reader.read(BytesIO(body))
    # and the codec turns it into a truncated record (`_UNREADABLE`)
    assert isinstance(by_schemaless_reader.value, _UNREADABLE)
