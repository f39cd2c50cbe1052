"""What a handler sees besides its job: who the job is, which attempt this is, and a logger.

It deliberately carries no offsets, producers or topics: a handler signals (`Retry`, `Reject`,
an exception) and the runtime decides what that means for the record.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

_LOG = logging.getLogger("keel.job")


@dataclass(frozen=True, slots=True)
class Context:
    """The job's identity and history, handed to the handler with the job."""

    job_id: str
    job_type: str
    attempt: int
    key: bytes | None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger whose records carry the job id, type and attempt."""
        extra = {"job_id": self.job_id, "job_type": self.job_type, "attempt": self.attempt}
        return logging.LoggerAdapter(_LOG, extra)
