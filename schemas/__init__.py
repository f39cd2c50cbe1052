"""The contract between producers and workers: job schemas, their codec, and where they live.

avro/*.avsc  --keel schemas generate-->  jobs.py (pydantic models, subclasses of Job)
     \\                                      /
      `------> catalog.JobCatalog <--------'   full name <-> model, schema, ordered
                      |
                codec.JobCodec                 Confluent framing + fastavro, registry ids
"""

from schemas.catalog import JobCatalog, JobType, reference_catalog
from schemas.codec import JobCodec
from schemas.errors import (
    DecodeError,
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
from schemas.headers import JobHeaders, new_job_id
from schemas.job import Job
from schemas.jobs import GenerateReport, ProcessPayment, ReportFormat, SendEmail
from schemas.settings import ClusterSettings
from schemas.topics import dead_letter_topic

__all__ = [
    "ClusterSettings",
    "DecodeError",
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
