"""The dead-letter records of a run, as the oracle identifies them: by where they came from."""

from keel.consumers.dlt import read_letters
from keel.consumers.pipeline.dead_letter import ORIGIN_OFFSET, ORIGIN_PARTITION
from keel.load.oracle import DeadLetter
from keel.schemas.settings import ClusterSettings


def read_dead_letters(cluster: ClusterSettings, topic: str) -> list[DeadLetter]:
    """Every record on the dead-letter topic now, by its origin partition and offset."""
    return [
        DeadLetter(int(letter.header(ORIGIN_PARTITION)), int(letter.header(ORIGIN_OFFSET)))
        for letter in read_letters(cluster, topic)
    ]
