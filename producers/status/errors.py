"""What asking for a job's result raises.

KeelError (keel.schemas.errors)
└── ResultError               no result to hand back; `job_id` and `status` say which and why
    ├── ResultTimeoutError    the job did not end within the timeout (its last status is kept)
    ├── JobFailedError        the job was dead-lettered, expired or cancelled; `reason` says why
    └── NoResultError         the job is done but stored no result (none declared, or invalid)
"""

from keel.schemas.errors import KeelError
from keel.schemas.status.record import JobStatus


class ResultError(KeelError):
    """A job's result cannot be handed back."""

    def __init__(self, message: str, status: JobStatus) -> None:
        super().__init__(message)
        self.job_id = status.job_id
        self.status = status


class ResultTimeoutError(ResultError):
    """The job had not ended when the timeout passed."""


class JobFailedError(ResultError):
    """The job ended without success: dead-lettered (with its reason), expired or cancelled."""

    @property
    def reason(self) -> str | None:
        return self.status.reason


class NoResultError(ResultError):
    """The job is done, but no result was stored with its status."""
