"""Sample demo jobs for tests, each field a valid, distinct value."""

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from keel.schemas.catalog import ORDERED_PROPERTY, JobCatalog, JobType
from keel.schemas.demo import GenerateReport, ProcessPayment, ReportFormat, SendEmail
from keel.schemas.job import Job

_T0 = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)


def send_email(template: str = "welcome") -> SendEmail:
    return SendEmail(
        user_id=uuid4(),
        to="ada@example.com",
        template=template,
        params={"name": "Ada"},
        locale="fr",
        not_before=_T0,
    )


def generate_report() -> GenerateReport:
    return GenerateReport(
        report_id=uuid4(),
        kind="monthly-sales",
        requested_by=uuid4(),
        period_start=_T0,
        period_end=_T0.replace(month=4),
        format=ReportFormat.CSV,
        filters={"region": "eu"},
    )


def process_payment(amount: str = "1234.50") -> ProcessPayment:
    return ProcessPayment(
        payment_id=uuid4(),
        order_id="order-42",
        customer_id=uuid4(),
        amount=Decimal(amount),
        currency="EUR",
        requested_at=_T0,
    )


def catalog_of(*models: type[Job], ordered: Iterable[type[Job]] = ()) -> JobCatalog:
    """A catalog of job models a test declares in Python (their schemas derived from the models).

    keel's own jobs come from `.avsc` files; a test's small job types need no file.
    """
    keyed = set(ordered)
    return JobCatalog(
        JobType.from_schema(model, {**model.avro_schema_to_python(), ORDERED_PROPERTY: True})
        if model in keyed
        else JobType.from_schema(model, model.avro_schema_to_python())
        for model in models
    )
