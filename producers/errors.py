"""What publishing raises, besides pydantic's `ValidationError` for an invalid job.

KeelError (keel.schemas.errors)
└── PublishError                a job did not reach the broker; `job_id` says which
    ├── MissingKeyError         an ordered job type published without a key
    ├── NoRouteError            a job type with no topic in the routing settings
    ├── PriorityError           a priority its route has no lane for, or one an ordered type refuses
    ├── MessageTooLargeError    over the size limit; the message names it
    ├── ExpiryError             an expiry already past, or before the job's delivery time
    ├── DelayError              a delay beyond the configured maximum, or an expiry before it
    ├── PublishTimeoutError     no delivery report in time (the broker is unreachable)
    └── BrokerUnavailableError  opening: no broker answered within the open timeout
"""

from keel.schemas.errors import KeelError


class PublishError(KeelError):
    """A job was not written to Kafka."""

    def __init__(self, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class MissingKeyError(PublishError):
    """The job type is ordered, and order in Kafka is per key, so a key is required."""


class NoRouteError(PublishError):
    """The routing settings have no topic for this job type."""


class PriorityError(PublishError):
    """The publish named a priority its route cannot take (docs/scheduling.md)."""


class MessageTooLargeError(PublishError):
    """The encoded job is over the producer's or the broker's message size limit."""


class ExpiryError(PublishError):
    """`expires=` names a moment the job could never start before; nothing was sent."""


class PublishTimeoutError(PublishError):
    """The broker did not acknowledge the job within the delivery timeout."""


class BrokerUnavailableError(PublishError):
    """A publisher could not open: the cluster did not answer within `open_timeout_ms`."""


class DelayError(PublishError):
    """A delayed job that cannot be accepted: refused before anything is sent."""
