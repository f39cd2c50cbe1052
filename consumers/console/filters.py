"""The dead-letter list's filters, read from query parameters; a malformed one names itself.

`LetterFilter` is a `Selection` (job type, time range) with two more tests: `error`, a
substring of the error class or the reason, and `key`, the record key as text. Being a
`Selection`, it is what a replay of the same filters selects, letter for letter.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from keel.consumers.dead_letters.reader import Letter
from keel.consumers.dead_letters.replay import Selection
from keel.schemas.headers import DLT_ERROR_CLASS, DLT_REASON

FIELDS = ("topic", "job_type", "error", "since", "until", "key")


class BadFilterError(ValueError):
    """A filter that cannot be read; `field` names it."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field


@dataclass(frozen=True)
class LetterFilter(Selection):
    """A `Selection` plus an error substring and an exact key."""

    error: str | None = None
    key: str | None = None

    def __call__(self, letter: Letter) -> bool:
        return (
            super().__call__(letter)
            and (self.error is None or self._error_matches(letter))
            and (self.key is None or letter.key == self.key.encode())
        )

    def _error_matches(self, letter: Letter) -> bool:
        headers = letter.headers
        wanted = (self.error or "").lower()
        found = f"{headers.get(DLT_ERROR_CLASS, '')}\n{headers.get(DLT_REASON, '')}".lower()
        return wanted in found

    @property
    def reads_everything(self) -> bool:
        """True when every letter passes: a page can then be found by offsets alone."""
        return self == LetterFilter()


@dataclass(frozen=True)
class Query:
    """The filters of one request: a topic (or every dead-letter topic) and a `LetterFilter`."""

    topic: str | None
    selection: LetterFilter

    def params(self) -> dict[str, str]:
        """The filters as query parameters again, for links and forms."""
        return {name: value for name, value in _as_text(self).items() if value}


def parse(params: Mapping[str, str]) -> Query:
    """The filters in `params`; empty values mean no filter; `BadFilterError` names a bad one."""
    given = {name: (params.get(name) or "").strip() or None for name in FIELDS}
    selection = LetterFilter(
        job_type=given["job_type"],
        since_ms=_millis("since", given["since"]),
        until_ms=_millis("until", given["until"]),
        error=given["error"],
        key=given["key"],
    )
    return Query(given["topic"], selection)


def _millis(field: str, moment: str | None) -> int | None:
    if moment is None:
        return None
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        raise BadFilterError(field, f"not an ISO-8601 time: {moment!r}") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _iso(millis: int | None) -> str:
    if millis is None:
        return ""
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat()


def _as_text(query: Query) -> dict[str, str]:
    chosen = query.selection
    return {
        "topic": query.topic or "",
        "job_type": chosen.job_type or "",
        "error": chosen.error or "",
        "since": _iso(chosen.since_ms),
        "until": _iso(chosen.until_ms),
        "key": chosen.key or "",
    }
