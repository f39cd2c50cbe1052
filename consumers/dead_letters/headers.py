"""What a dead-lettered record carries: the original bytes untouched, and why it failed.

The key and value go to the dead-letter topic exactly as they arrived, so a fixed worker can replay
them unchanged. The original headers are kept, and `keel-dlt-*` headers are added (their names are
the contract's, in `keel.schemas.headers`): where the record came from (topic, partition, offset,
timestamp), which group failed it, the job type, how many attempts ran, the error's class, message
and (truncated) traceback, and when the first and last failure happened. Building them is pure;
`writer` hands them to a `sink`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from keel.schemas.headers import (
    DEAD_LETTER_HEADERS,
    DLT_ATTEMPTS,
    DLT_ERROR_CLASS,
    DLT_ERROR_MESSAGE,
    DLT_FIRST_FAILURE,
    DLT_GROUP,
    DLT_JOB_TYPE,
    DLT_LAST_FAILURE,
    DLT_ORIGIN_OFFSET,
    DLT_ORIGIN_PARTITION,
    DLT_ORIGIN_TIMESTAMP,
    DLT_ORIGIN_TOPIC,
    DLT_REASON,
    DLT_TRACEBACK,
)

MESSAGE_LIMIT = 1024
TRACEBACK_LIMIT = 4096

Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was read from."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a record is being dead-lettered, and its history of attempts."""

    reason: str
    error_class: str
    message: str
    traceback: str
    attempts: int
    first_failure_ms: int
    last_failure_ms: int
    job_type: str | None = None


def dead_letter_headers(
    origin: Origin, group: str, failure: Failure, original: Sequence[Header] | None
) -> list[Header]:
    """The original headers (minus stale `keel-dlt-*` ones) plus this failure's."""
    kept = [(name, value) for name, value in original or () if name not in DEAD_LETTER_HEADERS]
    added = {
        DLT_ORIGIN_TOPIC: origin.topic,
        DLT_ORIGIN_PARTITION: str(origin.partition),
        DLT_ORIGIN_OFFSET: str(origin.offset),
        DLT_ORIGIN_TIMESTAMP: str(origin.timestamp_ms),
        DLT_GROUP: group,
        DLT_JOB_TYPE: failure.job_type or "",
        DLT_ATTEMPTS: str(failure.attempts),
        DLT_REASON: failure.reason,
        DLT_ERROR_CLASS: failure.error_class,
        DLT_ERROR_MESSAGE: _head(failure.message, MESSAGE_LIMIT),
        DLT_TRACEBACK: _tail(failure.traceback, TRACEBACK_LIMIT),
        DLT_FIRST_FAILURE: str(failure.first_failure_ms),
        DLT_LAST_FAILURE: str(failure.last_failure_ms),
    }
    return kept + [(name, value.encode("utf-8", "replace")) for name, value in added.items()]


def header_map(headers: Sequence[Header] | None) -> dict[str, str]:
    """Headers as text, last value wins; values that are not UTF-8 are shown escaped."""
    return {
        name: (value or b"").decode("utf-8", "backslashreplace") for name, value in headers or ()
    }


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tail(text: str, limit: int) -> str:
    # The end of a traceback names the failing line; keep that end.
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]
