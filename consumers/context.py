"""What a handler sees besides its job: who the job is, which attempt this is, and a logger.

It deliberately carries no offsets, producers or topics: a handler signals (`Retry`, `Reject`,
an exception) and the runtime decides what that means for the record.

The worker builds one per attempt from the record and reads and decodes its headers only when
the handler first asks (`job_id`, `headers`): most handlers never do, and even fetching a
record's header list from librdkafka (a new list of tuples each time) was a measurable part of
the worker's time per job.
"""

import logging
from collections.abc import Callable, Mapping, Sequence

from keel.schemas.headers import JOB_ID

_LOG = logging.getLogger("keel.job")

RawHeaders = Sequence[tuple[str, bytes | None]]
ReadHeaders = Callable[[], RawHeaders | None]


def _no_headers() -> RawHeaders:
    return ()


class Context:
    """The job's identity and history, handed to the handler with the job. Read-only."""

    __slots__ = ("_attempt", "_headers", "_job_id", "_job_type", "_key", "_raw")

    def __init__(
        self,
        job_id: str,
        job_type: str,
        attempt: int,
        key: bytes | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._job_id: str | None = job_id
        self._job_type = job_type
        self._attempt = attempt
        self._key = key
        self._headers: Mapping[str, str] | None = dict(headers or {})
        self._raw: ReadHeaders = _no_headers

    @classmethod
    def of_record(
        cls, job_type: str, attempt: int, key: bytes | None, raw: ReadHeaders
    ) -> "Context":
        """A context whose job id and headers are read with `raw()` and decoded on first use."""
        context = cls.__new__(cls)
        context._job_id = None
        context._job_type = job_type
        context._attempt = attempt
        context._key = key
        context._headers = None
        context._raw = raw
        return context

    @property
    def job_id(self) -> str:
        if self._job_id is None:
            self._job_id = self.headers.get(JOB_ID, "")
        return self._job_id

    @property
    def job_type(self) -> str:
        return self._job_type

    @property
    def attempt(self) -> int:
        """1 for the first run; counted across workers, crashes and rebalances included."""
        return self._attempt

    @property
    def key(self) -> bytes | None:
        return self._key

    @property
    def headers(self) -> Mapping[str, str]:
        """The record's headers, decoded as UTF-8 (undecodable bytes replaced)."""
        if self._headers is None:
            self._headers = {
                name: (value or b"").decode("utf-8", "replace") for name, value in self._raw() or ()
            }
        return self._headers

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger whose records carry the job id, type and attempt."""
        return logging.LoggerAdapter(_LOG, self.log_fields())

    def log_fields(self) -> dict[str, object]:
        """The fields a log line about this job carries (as `extra`)."""
        return {"job_id": self.job_id, "job_type": self.job_type, "attempt": self.attempt}

    def _fields(self) -> tuple[object, ...]:
        return (self.job_id, self._job_type, self._attempt, self._key, dict(self.headers))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Context):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields()[:4])

    def __repr__(self) -> str:
        return (
            f"Context(job_id={self.job_id!r}, job_type={self._job_type!r}, "
            f"attempt={self._attempt!r}, key={self._key!r}, headers={dict(self.headers)!r})"
        )
