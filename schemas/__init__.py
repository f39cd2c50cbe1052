"""The contract between producers and workers: job schemas, their codec, and where they live.

a service's *.avsc  --keel schemas generate-->  its jobs.py (pydantic models, subclasses of Job)
   (avsc, project)                                   |
                                catalog.JobCatalog <-'   full name <-> model, schema, ordered
                                        |
                                  codec.JobCodec         Confluent framing + fastavro, registry ids

keel's own demo jobs are kept the same way, in `keel.schemas.demo`.
"""

from keel.schemas.catalog import JobCatalog, JobType
from keel.schemas.codec import JobCodec
from keel.schemas.errors import (
    ContractError,
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
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic

__all__ = [
    "ClusterSettings",
    "ContractError",
    "DecodeError",
    "EncodeError",
    "IncompatibleSchemaError",
    "InvalidJobError",
    "Job",
    "JobCatalog",
    "JobCodec",
    "JobHeaders",
    "JobType",
    "KeelError",
    "NotInCatalogError",
    "RegistryError",
    "RegistryUnavailableError",
    "SchemaRejectedError",
    "TruncatedError",
    "UnknownJobTypeError",
    "UnknownSchemaIdError",
    "WrongMagicByteError",
    "dead_letter_topic",
    "new_job_id",
]
