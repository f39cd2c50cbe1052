"""The harness's record of every job it sent, kept in flat arrays the collector never walks.

The oracle needs, for each sent job, its key, its place among the key's jobs and where the
broker put it. Held as one `SentJob` object per job, a soak of five million jobs kept millions
of tracked objects in the producing process, and each of CPython's full collections walked all
of them: the pauses grew with the run (0.7 s with one million jobs, 9.7 s with four), and every
job due to be sent during a pause was sent late. Here a good job is four numbers in `array`s
(key index, sequence, partition, offset: about 28 bytes, no Python object per job), and its
`SentJob` is rebuilt only when the oracle reads the ledger after the run. Poison records,
a small share, are kept as they are.
"""

from array import array
from collections.abc import Iterator

from keel.load.oracle import SentJob
from keel.load.profile import job_identity


class SentLedger:
    """Every sent job, in the order the broker acknowledged them (poison last)."""

    def __init__(self) -> None:
        self._key_index: dict[str, int] = {}
        self._key_names: list[str] = []
        self._keys = array("I")
        self._seqs = array("q")
        self._partitions = array("i")
        self._offsets = array("q")
        self._poison: list[SentJob] = []

    def add(self, key: str, seq: int, partition: int, offset: int) -> None:
        """A good job, acknowledged at `partition`/`offset`."""
        index = self._key_index.get(key)
        if index is None:
            index = self._key_index[key] = len(self._key_names)
            self._key_names.append(key)
        self._keys.append(index)
        self._seqs.append(seq)
        self._partitions.append(partition)
        self._offsets.append(offset)

    def add_poison(self, job: SentJob) -> None:
        self._poison.append(job)

    def __len__(self) -> int:
        return len(self._seqs) + len(self._poison)

    def __iter__(self) -> Iterator[SentJob]:
        names = self._key_names
        columns = zip(self._keys, self._seqs, self._partitions, self._offsets, strict=True)
        for key_index, seq, partition, offset in columns:
            key = names[key_index]
            yield SentJob(job_identity(key, seq), key, seq, partition, offset)
        yield from self._poison
