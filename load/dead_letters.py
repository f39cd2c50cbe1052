"""The dead-letter records of a run, as the oracle identifies them: by where they came from.

A replay round runs the same topic as the live round, so the dead-letter topic already holds
the live round's letters when it starts; the round is judged on the letters written after
`DeadLetterMark` was taken, never on what the harness sent.
"""

from dataclasses import dataclass

from keel.consumers.dead_letters.replay import Letter, read_letters
from keel.load.oracle import DeadLetter
from keel.schemas.headers import DLT_ORIGIN_OFFSET, DLT_ORIGIN_PARTITION
from keel.schemas.settings import ClusterSettings


@dataclass(frozen=True)
class DeadLetterMark:
    """The dead-letter records that were already on the topic when a round began."""

    seen: frozenset[tuple[int, int]]


def read_dead_letters(
    cluster: ClusterSettings, topic: str, after: DeadLetterMark | None = None
) -> list[DeadLetter]:
    """Every record on the dead-letter topic now (or added since `after`), by its origin."""
    seen = after.seen if after is not None else frozenset()
    return [
        DeadLetter(int(letter.header(DLT_ORIGIN_PARTITION)), int(letter.header(DLT_ORIGIN_OFFSET)))
        for letter in read_letters(cluster, topic)
        if _where(letter) not in seen
    ]


def mark_dead_letters(cluster: ClusterSettings, topic: str) -> DeadLetterMark:
    """What the dead-letter topic holds now, to judge only the letters a round adds."""
    return DeadLetterMark(frozenset(_where(letter) for letter in read_letters(cluster, topic)))


def _where(letter: Letter) -> tuple[int, int]:
    return (letter.partition, letter.offset)
