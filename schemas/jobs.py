"""The reference job models, generated from `schemas/avro/*.avsc`: do not edit by hand.

Change the `.avsc` file, then run `keel schemas generate`.
"""

import datetime
import decimal
import enum
import typing
import uuid

import pydantic
from dataclasses_avroschema import types

from keel.schemas.job import Job


class ReportFormat(str, enum.Enum):
    PDF = "PDF"
    CSV = "CSV"
    XLSX = "XLSX"

    @enum.nonmember
    class Meta:
        default = "PDF"


class GenerateReport(Job):
    """
    Build one report over a period and store it where the requester can fetch it. Reports are independent of each other, so the job is unordered and may be published without a key.
    """

    report_id: uuid.UUID = pydantic.Field(
        description="Id of the report to build; the worker stores the result under it, so a retried job overwrites instead of duplicating."
    )
    kind: str = pydantic.Field(description="Which report, e.g. 'monthly-sales'.")
    requested_by: uuid.UUID = pydantic.Field(description="The user who asked for it.")
    period_start: datetime.datetime = pydantic.Field(
        description="Start of the period covered, inclusive."
    )
    period_end: datetime.datetime = pydantic.Field(
        description="End of the period covered, exclusive."
    )
    format: ReportFormat = pydantic.Field(
        description="File format of the result.", default=ReportFormat.PDF
    )
    filters: dict[str, str] = pydantic.Field(
        description="Filters the report applies, by name.", default_factory=dict
    )

    class Meta:
        namespace = "keel.jobs"


class ProcessPayment(Job):
    """
    Charge a customer for one order. Ordered per order: a capture must not overtake its authorisation.
    """

    payment_id: uuid.UUID = pydantic.Field(
        description="Idempotency key for the payment provider: a retried job charges once."
    )
    order_id: str = pydantic.Field(
        description="The order being paid; the natural key for ordering."
    )
    customer_id: uuid.UUID = pydantic.Field(description="Who pays.")
    amount: typing.Annotated[
        decimal.Decimal,
        types.DecimalFieldInfo(max_digits=12, decimal_places=2),
        pydantic.Field(
            max_digits=12,
            decimal_places=2,
            description="Amount to charge, in major units of the currency, exact.",
        ),
    ]
    currency: str = pydantic.Field(description="ISO 4217 code, e.g. 'EUR'.")
    requested_at: datetime.datetime = pydantic.Field(description="When the customer asked to pay.")

    class Meta:
        namespace = "keel.jobs"


class SendEmail(Job):
    """
    Send one templated email to one user, e.g. the welcome email after sign-up.
    """

    user_id: uuid.UUID = pydantic.Field(
        description="The user the email is for; publish with this as the key so one user's emails keep their order."
    )
    to: str = pydantic.Field(description="Recipient address.")
    template: str = pydantic.Field(
        description="Name of the template the worker renders, e.g. 'welcome'."
    )
    params: dict[str, str] = pydantic.Field(
        description="Values the template fills in.", default_factory=dict
    )
    locale: str = pydantic.Field(
        description="Language of the email; added in v2 with a default, so v1 jobs still decode.",
        default="en",
    )
    not_before: datetime.datetime | None = pydantic.Field(
        description="Earliest time to send; null means as soon as possible.", default=None
    )

    class Meta:
        namespace = "keel.jobs"
