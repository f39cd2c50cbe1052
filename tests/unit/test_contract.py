"""The .avsc files are the contract; the generated models must say exactly the same."""

import json
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pydantic
import pytest

from keel.schemas.catalog import JobCatalog, JobType, reference_catalog
from keel.schemas.errors import NotInCatalogError
from keel.schemas.generate import AVRO_DIR, MODULE_PATH, load_schemas, render
from keel.schemas.jobs import GenerateReport, ProcessPayment, SendEmail

# Keys that change nothing about the data: doc text is compared separately, and the library
# names the anonymous array and map types it derives.
_COSMETIC = {"doc"}


def _normalise(schema: Any) -> Any:
    """A schema with cosmetic keys dropped, so only what affects the data is compared."""
    if isinstance(schema, list):
        return [_normalise(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    kept = {k: _normalise(v) for k, v in schema.items() if k not in _COSMETIC}
    if kept.get("type") in {"array", "map"}:
        kept.pop("name", None)
    return kept


def _fields(schema: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    return [
        (f["name"], _normalise(f["type"]), f.get("default", "<none>"), f.get("doc"))
        for f in schema["fields"]
    ]


def test_committed_models_are_what_the_generator_renders_today() -> None:
    assert MODULE_PATH.read_text() == render(load_schemas(AVRO_DIR)), (
        "schemas/jobs.py is stale: run `keel schemas generate`"
    )


@pytest.mark.parametrize("job_type", list(reference_catalog()), ids=lambda t: t.name)
def test_model_and_schema_agree_field_by_field(job_type: JobType) -> None:
    # Given the schema the model itself derives (dataclasses-avroschema reads the annotations,
    # defaults and descriptions back), and the .avsc file
    derived = job_type.model.avro_schema_to_python()
    contract = json.loads(job_type.schema_str)

    # Then names, order, types with logical types, defaults and docs are identical
    assert _fields(derived) == _fields(contract)
    assert derived["doc"] == contract["doc"]
    assert job_type.model.get_fullname() == job_type.name


def test_catalog_holds_the_reference_jobs_with_their_ordering() -> None:
    catalog = reference_catalog()

    assert catalog.names == [
        "keel.jobs.GenerateReport",
        "keel.jobs.ProcessPayment",
        "keel.jobs.SendEmail",
    ]
    assert catalog.of(SendEmail).ordered is True
    assert catalog.of(ProcessPayment).ordered is True
    assert catalog.of(GenerateReport).ordered is False


def test_logical_types_become_python_types() -> None:
    job = ProcessPayment(
        payment_id=str(uuid4()),
        order_id="o-1",
        customer_id=str(uuid4()),
        amount="19.99",
        currency="EUR",
        requested_at=1_700_000_000_000,
    )

    assert job.amount == Decimal("19.99")
    assert job.requested_at.year == 2023
    assert job.payment_id.version == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", Decimal("1.234")),  # more decimal places than the schema's scale
        ("amount", Decimal("12345678901.00")),  # more digits than the schema's precision
        ("customer_id", "not-a-uuid"),
        ("requested_at", "yesterday"),
        ("unknown_field", "x"),
    ],
)
def test_out_of_contract_values_fail_validation(field: str, value: object) -> None:
    valid: dict[str, object] = {
        "payment_id": uuid4(),
        "order_id": "o-1",
        "customer_id": uuid4(),
        "amount": Decimal("10.00"),
        "currency": "EUR",
        "requested_at": 0,
    }

    with pytest.raises(pydantic.ValidationError):
        ProcessPayment.model_validate({**valid, field: value})


def test_missing_required_field_fails_validation() -> None:
    with pytest.raises(pydantic.ValidationError, match="to"):
        SendEmail.model_validate({"user_id": uuid4(), "template": "welcome"})


def test_jobs_are_immutable() -> None:
    job = SendEmail(user_id=uuid4(), to="a@example.com", template="welcome")

    with pytest.raises(pydantic.ValidationError):
        job.to = "b@example.com"  # type: ignore[misc]


def test_catalog_refuses_a_model_it_was_not_given() -> None:
    catalog = JobCatalog([reference_catalog().of(SendEmail)])

    with pytest.raises(NotInCatalogError):
        catalog.of(ProcessPayment)


def test_catalog_refuses_the_same_type_twice() -> None:
    send_email = reference_catalog().of(SendEmail)

    with pytest.raises(ValueError, match="twice"):
        JobCatalog([send_email, send_email])


def test_schema_must_carry_the_model_full_name() -> None:
    renamed = {**json.loads(reference_catalog().of(SendEmail).schema_str), "name": "Other"}

    with pytest.raises(ValueError, match=r"keel\.jobs\.Other"):
        JobType.from_schema(SendEmail, renamed)
