"""What a handler sees besides its job: who the job is, which attempt this is, and a logger.

It deliberately carries no offsets, producers or topics: a handler signals (`Retry`, `Reject`,
an exception) and the runtime decides what that means for the record.

The worker builds one per attempt from the record and reads and decodes its headers only when
the handler first asks (`job_id`, `headers`, `fence`): most handlers never do, and even fetching
a record's header list from librdkafka (a new list of tuples each time) was a measurable part of
the worker's time per job.

`fence` is the run's fencing token: a value that only grows, per key, across every worker that
ever runs the key's jobs. A handler passes it to a conditional write downstream ("write only if
the stored fence is lower"), which refuses what a worker frozen past its session writes late,
after the partition's next owner has run the key (docs/guarantees.md, "A frozen worker").
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from keel.schemas.headers import JOB_ID

_LOG = logging.getLogger("keel.job")

RawHeaders = Sequence[tuple[str, bytes | None]]
ReadHeaders = Callable[[], RawHeaders | None]


def _no_headers() -> RawHeaders:
    return ()


@dataclass(frozen=True, order=True, slots=True)
class Fence:
    """Orders the runs of one key across owners: the group generation, then the record's offset.

    A partition moves from one member to another only through a rebalance, and each rebalance
    raises the group's generation (with the KIP-848 protocol, the member epoch plays that part),
    so a new owner's generation is above any generation its predecessors had the partition in;
    within one owner, a key's records run in offset order. A zombie (a worker that lost its
    session and does not know it yet) therefore always holds a lower fence than the owner that
    replaced it, even while the owner replays offsets below the zombie's.

    Compare fences of the same key only (the same topic and partition). `token` is the same
    order as one string, for stores that compare strings; in SQL, compare the pair:
    `WHERE (fence_generation, fence_offset) < (:generation, :offset)`.
    """

    generation: int
    offset: int
    topic: str = field(default="", compare=False)
    partition: int = field(default=0, compare=False)

    @property
    def token(self) -> str:
        """`generation.offset`, zero-padded: strings that sort as the fences do."""
        return f"{max(self.generation, 0):010d}.{self.offset:019d}"


NO_FENCE = Fence(0, 0)


class Fenced(Protocol):
    """Something that knows the fence of the run it is part of (the pipeline's record)."""

    def fence(self) -> Fence: ...


class _Unfenced:
    __slots__ = ("_fence",)

    def __init__(self, fence: Fence) -> None:
        self._fence = fence

    def fence(self) -> Fence:
        return self._fence


_UNFENCED = _Unfenced(NO_FENCE)


class Context:
    """The job's identity and history, handed to the handler with the job. Read-only."""

    __slots__ = ("_attempt", "_fenced", "_headers", "_job_id", "_job_type", "_key", "_raw")

    def __init__(
        self,
        job_id: str,
        job_type: str,
        attempt: int,
        key: bytes | None,
        headers: Mapping[str, str] | None = None,
        *,
        fence: Fence = NO_FENCE,
    ) -> None:
        self._job_id: str | None = job_id
        self._job_type = job_type
        self._attempt = attempt
        self._key = key
        self._headers: Mapping[str, str] | None = dict(headers or {})
        self._raw: ReadHeaders = _no_headers
        self._fenced: Fenced = _Unfenced(fence)

    @classmethod
    def of_record(
        cls,
        job_type: str,
        attempt: int,
        key: bytes | None,
        raw: ReadHeaders,
        fenced: Fenced | None = None,
    ) -> "Context":
        """A context whose job id, headers and fence are read on first use.

        `raw()` reads the headers; `fenced.fence()` the fence (none given: `NO_FENCE`).
        """
        context = cls.__new__(cls)
        context._job_id = None
        context._job_type = job_type
        context._attempt = attempt
        context._key = key
        context._headers = None
        context._raw = raw
        context._fenced = _UNFENCED if fenced is None else fenced
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
    def fence(self) -> Fence:
        """This run's fencing token: pass it to a conditional write that refuses a lower one."""
        return self._fenced.fence()

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
