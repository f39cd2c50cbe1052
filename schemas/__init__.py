"""The contract between producers and workers: job schemas, their codec, and where they live.

avro/*.avsc  --keel schemas generate-->  jobs.py (pydantic models, subclasses of Job)
     \\                                      /
      `------> catalog.JobCatalog <--------'   full name <-> model, schema, ordered
                      |
                codec.JobCodec                 Confluent framing + fastavro, registry ids
"""

from keel.schemas.catalog import JobCatalog, JobType, reference_catalog
from keel.schemas.codec import JobCodec
from keel.schemas.errors import (
    DecodeError,
    EncodeError,
    IncompatibleSchemaError,
    InvalidJobError,
    KeelError,
    NotInCatalogError,
    RegistryError,
    RegistryUnavailableError,
    SchemaRejectedError,
    TruncatedError,
    UnknownJobTypeError,
    UnknownSchemaIdError,
    WrongMagicByteError,
)
from keel.schemas.headers import JobHeaders, new_job_id
from keel.schemas.job import Job
from keel.schemas.jobs import GenerateReport, ProcessPayment, ReportFormat, SendEmail
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic

__all__ = [
    "ClusterSettings",
    "DecodeError",
    "EncodeError",
    "GenerateReport",
    "IncompatibleSchemaError",
    "InvalidJobError",
    "Job",
    "JobCatalog",
    "JobCodec",
    "JobHeaders",
    "JobType",
    "KeelError",
    "NotInCatalogError",
    "ProcessPayment",
    "RegistryError",
    "RegistryUnavailableError",
    "ReportFormat",
    "SchemaRejectedError",
    "SendEmail",
    "TruncatedError",
    "UnknownJobTypeError",
    "UnknownSchemaIdError",
    "WrongMagicByteError",
    "dead_letter_topic",
    "new_job_id",
    "reference_catalog",
]
