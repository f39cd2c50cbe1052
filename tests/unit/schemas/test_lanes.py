"""Lanes by name and by number, and the topics that carry them."""

import pytest

from keel.schemas.lanes import LANES, lane_of, lane_topic, rank, topic_lane


@pytest.mark.parametrize(
    ("priority", "lane"),
    [
        ("high", "high"),
        ("default", "default"),
        ("low", "low"),
        (9, "high"),
        (7, "high"),
        (6, "default"),
        (3, "default"),
        (2, "low"),
        (0, "low"),
    ],
)
def test_names_and_numbers_map_onto_lanes(priority: str | int, lane: str) -> None:
    assert lane_of(priority) == lane  # type: ignore[arg-type]


@pytest.mark.parametrize("priority", [10, -1, "urgent", True, 1.5, None])
def test_anything_else_is_refused(priority: object) -> None:
    with pytest.raises((TypeError, ValueError), match="priority"):
        lane_of(priority)  # type: ignore[arg-type]


def test_lane_topics_round_trip() -> None:
    assert [lane_topic("jobs.email", lane) for lane in LANES] == [
        "jobs.email.high",
        "jobs.email",
        "jobs.email.low",
    ]
    assert [topic_lane(lane_topic("jobs.email", lane)) for lane in LANES] == [
        "high",
        "default",
        "low",
    ]
    assert [rank("t.high"), rank("t"), rank("t.low")] == [0, 1, 2]
