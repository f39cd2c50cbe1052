"""Names of topics derived from a job topic."""

DEAD_LETTER_SUFFIX = ".dlt"


def dead_letter_topic(topic: str) -> str:
    """The topic where jobs from `topic` go when they cannot be processed: `T.dlt`."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"


def quarantine_topic(group: str) -> str:
    """The compacted topic where consumer group `group` keeps its held keys (one partition)."""
    return f"keel.quarantine.{group}"
