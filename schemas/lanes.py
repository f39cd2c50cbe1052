"""Priority lanes: a job topic `T` and its lane topics `T.high` and `T.low`.

A lane is one of three: `high`, `default` and `low`. Each is its own topic, so that a worker can
fetch and start the work of a higher lane first while a lower lane holds a backlog (Kafka has no
priority within a topic: a partition is read in offset order). The `default` lane is the routed
topic itself, so a service that never names a priority keeps the topics it has; `high` and `low`
add a suffix. Celery-style numbers 0-9 map onto the lanes, higher numbers first (as in AMQP and
Celery on RabbitMQ): 7-9 `high`, 3-6 `default`, 0-2 `low`.
"""

from typing import Literal, get_args

Lane = Literal["high", "default", "low"]
Priority = Lane | int
# Highest first: a lane's place in this tuple is its rank (0 is served first).
LANES: tuple[Lane, ...] = get_args(Lane)
_SUFFIXES: dict[Lane, str] = {"high": ".high", "default": "", "low": ".low"}
HIGH_FROM = 7  # numbers from here up are `high`
DEFAULT_FROM = 3  # numbers from here up to HIGH_FROM are `default`; below, `low`


def lane_of(priority: Priority) -> Lane:
    """The lane a priority names: a lane's own name, or a number 0-9 (9 is the highest)."""
    if isinstance(priority, str):
        for lane in LANES:
            if priority == lane:
                return lane
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority must be one of {LANES} or 0-9, not {priority!r}")
    if not 0 <= priority <= 9:
        raise ValueError(f"a numeric priority must be 0-9 (9 is the highest), not {priority}")
    if priority >= HIGH_FROM:
        return "high"
    return "default" if priority >= DEFAULT_FROM else "low"


def lane_topic(topic: str, lane: Lane) -> str:
    """The topic of `lane` for the job topic `topic`: `T.high`, `T` or `T.low`."""
    return f"{topic}{_SUFFIXES[lane]}"


def topic_lane(topic: str) -> Lane:
    """The lane a consumed topic belongs to, read from its name (`default` without a suffix)."""
    lane: Lane
    for lane in ("high", "low"):
        if topic.endswith(_SUFFIXES[lane]):
            return lane
    return "default"


def rank(topic: str) -> int:
    """The topic's lane as a rank: 0 for `high`, 1 for `default`, 2 for `low`."""
    return LANES.index(topic_lane(topic))
