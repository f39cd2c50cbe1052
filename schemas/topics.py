"""Names of topics derived from a job topic."""

DEAD_LETTER_SUFFIX = ".dlt"


def dead_letter_topic(topic: str) -> str:
    """The topic where jobs from `topic` go when they cannot be processed: `T.dlt`."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"
