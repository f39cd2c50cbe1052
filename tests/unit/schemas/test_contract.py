"""The .avsc files are the contract; the generated models must say exactly the same."""

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from uuid import uuid4

import pydantic
import pytest

from keel.schemas.avsc import read_directory
from keel.schemas.catalog import JobCatalog, JobType, contract_schema
from keel.schemas.demo import (
    DEMO_AVRO_DIR,
    DEMO_JOBS,
    DEMO_MODULE,
    GenerateReport,
    ProcessPayment,
    SendEmail,
    demo_catalog,
)
from keel.schemas.errors import NotInCatalogError
from keel.schemas.generate import load_schemas, render
from keel.schemas.job import Job


def test_committed_models_are_what_the_generator_renders_today() -> None:
    assert DEMO_MODULE.read_text() == render(
        load_schemas(DEMO_AVRO_DIR), DEMO_MODULE, DEMO_AVRO_DIR
    ), "schemas/demo/jobs.py is stale: run `keel schemas generate`"


@pytest.mark.parametrize("model", DEMO_JOBS, ids=lambda model: model.__name__)
def test_each_model_states_exactly_its_avsc_file(model: type[Job]) -> None:
    # Given the schema the model itself derives (dataclasses-avroschema reads the annotations,
    # defaults and descriptions back, `keel_ordered` the ordering), and the .avsc file
    files = {schema_file.name: schema_file.schema for schema_file in read_directory(DEMO_AVRO_DIR)}
    derived = JobType.from_model(model)

    # Then names, order, types with logical types, defaults, docs and ordering are identical
    assert json.loads(derived.schema_str) == contract_schema(files[derived.name])


def test_catalog_holds_the_demo_jobs_with_their_ordering() -> None:
    catalog = demo_catalog()

    assert catalog.names == [
        "keel.jobs.GenerateReport",
        "keel.jobs.ProcessPayment",
        "keel.jobs.SendEmail",
    ]
    assert catalog.of(SendEmail).ordered is True
    assert catalog.of(ProcessPayment).ordered is True
    assert catalog.of(GenerateReport).ordered is False


def test_a_learning_catalog_takes_in_a_model_when_first_asked() -> None:
    catalog = JobCatalog.learning()

    assert len(catalog) == 0
    assert catalog.of(SendEmail).name == "keel.jobs.SendEmail"
    assert catalog.names == ["keel.jobs.SendEmail"]
    assert catalog.of(SendEmail) is catalog.of(SendEmail)


def test_a_learning_catalog_takes_in_a_model_once_when_threads_ask_together() -> None:
    # A sync Publisher may be shared by a web server's threads: the first publishes of a new
    # job type can ask for it at the same moment. Switching threads every microsecond makes
    # them meet inside the catalog.
    catalog = JobCatalog.learning()
    start = threading.Barrier(8)

    def ask(_: int) -> JobType:
        start.wait()
        return catalog.of(ProcessPayment)

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(ask, range(8)))
    finally:
        sys.setswitchinterval(switch_interval)

    assert all(job_type is found[0] for job_type in found)
    assert catalog.names == ["keel.jobs.ProcessPayment"]


def test_container_names_the_model_adds_are_not_part_of_the_contract() -> None:
    derived = SendEmail.avro_schema_to_python()
    params = next(field for field in derived["fields"] if field["name"] == "params")
    assert "name" in params["type"]  # dataclasses-avroschema names the map type

    contract = contract_schema(derived)

    params = next(field for field in contract["fields"] if field["name"] == "params")
    assert params["type"] == {"type": "map", "values": "string"}
    assert contract["keel.ordered"] is False  # not stated in what the library derives


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
    catalog = JobCatalog([demo_catalog().of(SendEmail)])

    with pytest.raises(NotInCatalogError):
        catalog.of(ProcessPayment)


def test_catalog_refuses_the_same_type_twice() -> None:
    send_email = demo_catalog().of(SendEmail)

    with pytest.raises(ValueError, match="twice"):
        JobCatalog([send_email, send_email])


def test_schema_must_carry_the_model_full_name() -> None:
    renamed = {**json.loads(demo_catalog().of(SendEmail).schema_str), "name": "Other"}

    with pytest.raises(ValueError, match=r"keel\.jobs\.Other"):
        JobType.from_schema(SendEmail, renamed)
