"""The repo keeps released schema versions; the current file must stay compatible with them."""

import json
from typing import Any

import pytest

from keel.schemas.demo import DEMO_AVRO_DIR
from keel.schemas.evolution import check_history, history

SEND_EMAIL = DEMO_AVRO_DIR / "send_email.avsc"


def _current() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SEND_EMAIL.read_text())
    return schema


def test_history_lists_kept_versions_oldest_first() -> None:
    versions = history(SEND_EMAIL)

    assert [label for label, _ in versions] == ["v1"]
    assert "locale" not in [f["name"] for f in versions[0][1]["fields"]]


@pytest.mark.parametrize("level", ["BACKWARD", "FORWARD", "FULL", "FULL_TRANSITIVE"])
def test_current_send_email_is_compatible_with_v1(level: str) -> None:
    [verdict] = check_history("s", _current(), history(SEND_EMAIL), level)

    assert verdict.compatible, verdict.reasons
    assert verdict.against == "repo v1"


def test_required_field_without_default_breaks_backward_with_a_reason() -> None:
    broken = _current()
    broken["fields"].append({"name": "priority", "type": "int"})

    [verdict] = check_history("s", broken, history(SEND_EMAIL), "BACKWARD")

    assert not verdict.compatible
    assert any("priority" in reason and "default" in reason for reason in verdict.reasons)


def test_removed_required_field_breaks_forward_only() -> None:
    # Old code needs `template`; new jobs no longer carry it
    slimmer = _current()
    slimmer["fields"] = [f for f in slimmer["fields"] if f["name"] != "template"]

    [backward] = check_history("s", slimmer, history(SEND_EMAIL), "BACKWARD")
    [forward] = check_history("s", slimmer, history(SEND_EMAIL), "FORWARD")

    assert backward.compatible
    assert not forward.compatible


def test_level_none_checks_nothing() -> None:
    assert check_history("s", _current(), history(SEND_EMAIL), "NONE") == []
