"""The dead-letter filters: read from query parameters, a malformed one named, applied as a
replay `Selection` would be."""

import pytest

from keel.consumers.console.filters import BadFilterError, LetterFilter, parse
from keel.consumers.dead_letters.reader import Letter
from keel.schemas.headers import DLT_ERROR_CLASS, DLT_JOB_TYPE, DLT_LAST_FAILURE, DLT_REASON

NOON_MS = 1_764_763_200_000  # 2025-12-03T12:00:00Z


def _letter(
    key: bytes = b"k1", error: str = "builtins.OSError", failed_ms: int = NOON_MS
) -> Letter:
    headers = (
        (DLT_JOB_TYPE, b"keel.jobs.SendEmail"),
        (DLT_ERROR_CLASS, error.encode()),
        (DLT_REASON, b"retries-exhausted"),
        (DLT_LAST_FAILURE, str(failed_ms).encode()),
    )
    return Letter("t.dlt", 0, 7, key, b"v", headers)


def test_empty_parameters_select_everything() -> None:
    query = parse({"topic": "", "error": "  ", "since": ""})

    assert query.topic is None
    assert query.selection.reads_everything
    assert query.selection(_letter())


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"error": "oserror"}, True),
        ({"error": "ValueError"}, False),
        ({"error": "exhausted"}, True),  # the reason counts as well as the class
        ({"key": "k1"}, True),
        ({"key": "k2"}, False),
        ({"job_type": "keel.jobs.SendEmail"}, True),
        ({"job_type": "keel.jobs.Other"}, False),
        ({"since": "2025-12-03T12:00:00Z"}, True),
        ({"since": "2025-12-03T12:00:01+00:00"}, False),
        ({"until": "2025-12-03T12:00:01"}, True),  # no zone: UTC
        ({"until": "2025-12-03T12:00:00Z"}, False),
    ],
)
def test_each_filter_keeps_or_drops_a_letter(params: dict[str, str], kept: bool) -> None:
    query = parse(params)

    assert not query.selection.reads_everything
    assert query.selection(_letter()) is kept


@pytest.mark.parametrize("field", ["since", "until"])
def test_a_malformed_time_names_its_field(field: str) -> None:
    with pytest.raises(BadFilterError) as bad:
        parse({field: "yesterday"})

    assert bad.value.field == field
    assert str(bad.value).startswith(f"{field}: ")


def test_params_give_the_filters_back_for_links_and_forms() -> None:
    query = parse({"topic": "jobs.email", "key": "k1", "since": "2025-12-03T12:00:00Z"})

    assert query.params() == {
        "topic": "jobs.email",
        "key": "k1",
        "since": "2025-12-03T12:00:00+00:00",
    }
    assert parse(query.params()) == query


def test_a_letter_filter_is_a_replay_selection() -> None:
    chosen = LetterFilter(key="k1")

    assert chosen(_letter(b"k1"))
    assert not chosen(_letter(b"k10"))
