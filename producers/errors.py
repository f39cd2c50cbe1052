"""What publishing raises, besides pydantic's `ValidationError` for an invalid job.

KeelError (keel.schemas.errors)
└── PublishError                a job did not reach the broker; `job_id` says which
    ├── MissingKeyError         an ordered job type published without a key
    ├── NoRouteError            a job type with no topic in the routing settings
    ├── MessageTooLargeError    over the size limit; the message names it
    ├── PublishTimeoutError     no delivery report in time (the broker is unreachable)
    └── DelayError              a delay beyond the configured maximum, or an expiry before it
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


class MessageTooLargeError(PublishError):
    """The encoded job is over the producer's or the broker's message size limit."""


class PublishTimeoutError(PublishError):
    """The broker did not acknowledge the job within the delivery timeout."""


class DelayError(PublishError):
    """A delayed job that cannot be accepted: refused before anything is sent."""
