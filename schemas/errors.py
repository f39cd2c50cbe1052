"""Everything the contract layer raises, by what the caller should do about it.

    KeelError
    ├── DecodeError                 poison: retrying cannot help; `reason` says why
    │   ├── WrongMagicByteError     "wrong-magic-byte": not Confluent-framed Avro
    │   ├── UnknownSchemaIdError    "unknown-schema-id": the registry has no such schema
    │   ├── TruncatedError          "truncated": empty, or Avro that cannot be read
    │   ├── UnknownJobTypeError     "unknown-job-type": no model in the catalog for it
    │   ├── IncompatibleSchemaError "incompatible-schema": writer not readable as the model
    │   └── InvalidJobError         "invalid-job": readable, but the model refused it
    ├── EncodeError                 a job whose values do not fit its schema
    ├── NotInCatalogError           encoding a model the catalog was not given
    ├── ContractError               a schema directory, `.avsc` file or job type that is not usable
    └── RegistryError               talking to the schema registry failed
        ├── RegistryUnavailableError  no answer: transient, retry later, never poison
        └── SchemaRejectedError       the registry refused a schema; carries its message
└── RefusedError                the cluster refused this client: fix credentials or ACLs
    ├── AuthenticationError     wrong credentials: names the mechanism and the user
    └── AuthorizationError      a missing ACL: names the operation and the resource

Decoding raises `RegistryUnavailableError` rather than a `DecodeError` when the registry cannot be
asked about a new schema id: the record may be fine, so a worker must not dead-letter it.
"""

from typing import ClassVar


class KeelError(Exception):
    """Base of every error keel raises on purpose."""


class DecodeError(KeelError):
    """A record that cannot become a job; `reason` is short and machine-readable."""

    reason: ClassVar[str] = "undecodable"


class WrongMagicByteError(DecodeError):
    reason = "wrong-magic-byte"


class UnknownSchemaIdError(DecodeError):
    reason = "unknown-schema-id"


class TruncatedError(DecodeError):
    reason = "truncated"


class UnknownJobTypeError(DecodeError):
    reason = "unknown-job-type"


class IncompatibleSchemaError(DecodeError):
    reason = "incompatible-schema"


class InvalidJobError(DecodeError):
    reason = "invalid-job"


class EncodeError(KeelError):
    """A job that cannot be written with its schema: built without validation, or mutated."""


class NotInCatalogError(KeelError):
    """A job model that was not registered in the catalog in use."""


class ContractError(KeelError):
    """The service's contract cannot be read: a missing directory or job type, or a file that
    is not an Avro record schema. The message names the directory, file or type."""


class RegistryError(KeelError):
    """The schema registry could not do what was asked."""


class RegistryUnavailableError(RegistryError):
    """The schema registry did not answer."""


class SchemaRejectedError(RegistryError):
    """The registry refused a schema (for example as incompatible); the message is its own."""


class RefusedError(KeelError):
    """The cluster refused this client; retrying cannot help until a person changes something."""


class AuthenticationError(RefusedError):
    """The cluster did not accept the client's credentials (the message names the mechanism)."""


class AuthorizationError(RefusedError):
    """The principal lacks an ACL (the message names the operation and the resource)."""
