"""What a dead-lettered record carries: the original bytes untouched, and why it failed.

The key and value go to the dead-letter topic exactly as they arrived, so a fixed worker can
replay them unchanged. The original headers are kept, and `keel-dlt-*` headers are added: where
the record came from (topic, partition, offset, timestamp), which group failed it, the job type,
how many attempts ran, the error's class, message and (truncated) traceback, and when the first
and last failure happened. Building them is pure; `sink` does the producing.
"""

from collections.abc import Sequence
from dataclasses import dataclass

ORIGIN_TOPIC = "keel-dlt-origin-topic"
ORIGIN_PARTITION = "keel-dlt-origin-partition"
ORIGIN_OFFSET = "keel-dlt-origin-offset"
ORIGIN_TIMESTAMP = "keel-dlt-origin-timestamp"
GROUP = "keel-dlt-group"
JOB_TYPE = "keel-dlt-job-type"
ATTEMPTS = "keel-dlt-attempts"
REASON = "keel-dlt-reason"
ERROR_CLASS = "keel-dlt-error-class"
ERROR_MESSAGE = "keel-dlt-error-message"
TRACEBACK = "keel-dlt-traceback"
FIRST_FAILURE = "keel-dlt-first-failure"
LAST_FAILURE = "keel-dlt-last-failure"

DLT_HEADERS = frozenset(
    {
        ORIGIN_TOPIC,
        ORIGIN_PARTITION,
        ORIGIN_OFFSET,
        ORIGIN_TIMESTAMP,
        GROUP,
        JOB_TYPE,
        ATTEMPTS,
        REASON,
        ERROR_CLASS,
        ERROR_MESSAGE,
        TRACEBACK,
        FIRST_FAILURE,
        LAST_FAILURE,
    }
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
    kept = [(name, value) for name, value in original or () if name not in DLT_HEADERS]
    added = {
        ORIGIN_TOPIC: origin.topic,
        ORIGIN_PARTITION: str(origin.partition),
        ORIGIN_OFFSET: str(origin.offset),
        ORIGIN_TIMESTAMP: str(origin.timestamp_ms),
        GROUP: group,
        JOB_TYPE: failure.job_type or "",
        ATTEMPTS: str(failure.attempts),
        REASON: failure.reason,
        ERROR_CLASS: failure.error_class,
        ERROR_MESSAGE: _head(failure.message, MESSAGE_LIMIT),
        TRACEBACK: _tail(failure.traceback, TRACEBACK_LIMIT),
        FIRST_FAILURE: str(failure.first_failure_ms),
        LAST_FAILURE: str(failure.last_failure_ms),
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
