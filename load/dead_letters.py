"""The dead-letter records of a run, as the oracle identifies them: by where they came from."""

from keel.consumers.dead_letters.replay import read_letters
from keel.load.oracle import DeadLetter
from keel.schemas.headers import DLT_ORIGIN_OFFSET, DLT_ORIGIN_PARTITION
from keel.schemas.settings import ClusterSettings


def read_dead_letters(cluster: ClusterSettings, topic: str) -> list[DeadLetter]:
    """Every record on the dead-letter topic now, by its origin partition and offset."""
    return [
        DeadLetter(int(letter.header(DLT_ORIGIN_PARTITION)), int(letter.header(DLT_ORIGIN_OFFSET)))
        for letter in read_letters(cluster, topic)
    ]
