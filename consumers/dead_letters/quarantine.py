"""Ending a key's quarantine from the dead-letter topic: what to replay, in which order.

A worker holds a key once one of its jobs is dead-lettered, and parks the key's later jobs in
the same dead-letter topic with `keel-blocked-by` naming the blocking job by its origin position
(see `keel.consumers.pipeline.quarantine`). A replay that selects a blocking job writes it, then
the jobs parked behind it in their original order (duplicates of one origin offset, which a
worker that crashed mid-park may leave, go once), then a resume marker for the key: a record
with no value, on the blocking job's origin partition, that ends the hold once the worker
reaches it. Every replayed job of the key is tagged `keel-quarantine-replay` so that it runs
while the key is still held. A parked job is never replayed on its own: only behind its blocking
job, or by `keel dlt release`, which writes the parked jobs and the marker without it.

The marker carries the highest origin offset parked behind the blocker that the replay saw:
jobs of the key published while the replay ran are parked after it, and the worker keeps the key
held until another replay writes them too (`replay_order` picks up such a tail when its blocking
job was already replayed).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confluent_kafka import Producer

from keel.consumers.pipeline.quarantine import PARKED
from keel.consumers.pipeline.records import Header
from keel.schemas.headers import (
    BLOCKED_BY,
    BLOCKED_BY_JOB,
    DLT_ORIGIN_OFFSET,
    DLT_ORIGIN_PARTITION,
    DLT_ORIGIN_TOPIC,
    DLT_REASON,
    QUARANTINE_COVERS,
    QUARANTINE_REPLAY,
    QUARANTINE_RESUME,
)

if TYPE_CHECKING:
    from keel.consumers.dead_letters.reader import Letter

# Headers a replayed record must not carry over from its dead letter.
QUARANTINE_HEADERS = frozenset({BLOCKED_BY, BLOCKED_BY_JOB, QUARANTINE_REPLAY})


@dataclass(frozen=True)
class Resume:
    """The marker that ends the hold of `key` behind `blocker`, once a worker reaches it."""

    topic: str
    partition: int
    key: bytes
    blocker: str
    covers: int


def origin_id(letter: "Letter") -> str:
    """The position the letter's record was read from: how a hold names its blocking job."""
    headers = letter.headers
    topic, partition = headers.get(DLT_ORIGIN_TOPIC, ""), headers.get(DLT_ORIGIN_PARTITION, "")
    return f"{topic}/{partition}/{headers.get(DLT_ORIGIN_OFFSET, '')}"


def is_parked(letter: "Letter") -> bool:
    return letter.header(DLT_REASON) == PARKED and bool(letter.header(BLOCKED_BY))


def blocker_of(letter: "Letter") -> str:
    """The hold a replay of this letter belongs to: the one it caused, or the one it waits in."""
    return letter.header(BLOCKED_BY) if is_parked(letter) else origin_id(letter)


def replay_tag(letter: "Letter") -> list[Header]:
    """The header that lets a keyed replayed job run while its key is held."""
    if letter.key is None:
        return []
    return [(QUARANTINE_REPLAY, blocker_of(letter).encode())]


def parked_behind(letters: Iterable["Letter"]) -> dict[str, list["Letter"]]:
    """Parked letters by blocking job, in origin order, one per origin offset."""
    found: dict[str, dict[int, Letter]] = {}
    for letter in letters:
        if is_parked(letter):
            by_offset = found.setdefault(letter.header(BLOCKED_BY), {})
            by_offset.setdefault(int(letter.header(DLT_ORIGIN_OFFSET) or -1), letter)
    return {blocker: [by[o] for o in sorted(by)] for blocker, by in found.items()}


def resume(blocker: str, key: bytes, parked: Sequence["Letter"]) -> Resume:
    """The marker for `blocker`'s hold, covering every job parked behind it so far."""
    topic, partition, _offset = blocker.rsplit("/", 2)
    covers = max((int(p.header(DLT_ORIGIN_OFFSET) or -1) for p in parked), default=-1)
    return Resume(topic, int(partition), key, blocker, covers)


@dataclass(frozen=True)
class Holds:
    """What a replay must know of the whole topic to order the letters it chose.

    `parked`: the parked letters by blocking job (`parked_behind`); `replayed`: the blocking
    jobs replayed before (their origin ids); `done`: the ids of every letter replayed before.
    """

    parked: dict[str, list["Letter"]]
    replayed: set[str]
    done: set[str]

    @classmethod
    def read(cls, letters: Iterable["Letter"], done: set[str]) -> "Holds":
        """One pass over the topic, keeping only parked letters and replayed blockers' ids."""
        parked: list[Letter] = []
        replayed: set[str] = set()
        for letter in letters:
            if is_parked(letter):
                parked.append(letter)
            elif letter.id in done:
                replayed.add(origin_id(letter))
        return cls(parked_behind(parked), replayed, done)

    def order(self, chosen: Sequence["Letter"]) -> list["Letter | Resume"]:
        """`chosen` rearranged for quarantine: each blocking job, its parked jobs, its marker.

        Parked letters follow their blocking job; those whose blocking job was replayed before
        (a tail parked during an earlier replay) go with a marker of their own; the rest stay
        parked. A keyed job that was dead-lettered twice (its worker died before committing)
        is replayed once.
        """
        blockers = {origin_id(x) for x in chosen if not is_parked(x)}
        replayed = set(self.replayed)
        ordered: list[Letter | Resume] = []
        tails: dict[str, Letter] = {}
        for letter in chosen:
            if not is_parked(letter):
                if letter.key is None:
                    ordered.append(letter)
                elif origin_id(letter) not in replayed:
                    replayed.add(origin_id(letter))  # a second letter of one job: a crash's copy
                    ordered += [letter, *self._behind(origin_id(letter), letter.key)]
            elif (
                letter.header(BLOCKED_BY) not in blockers and letter.header(BLOCKED_BY) in replayed
            ):
                tails.setdefault(letter.header(BLOCKED_BY), letter)
        for blocker, first in tails.items():
            ordered += self._behind(blocker, first.key or b"")
        return ordered

    def _behind(self, blocker: str, key: bytes) -> list["Letter | Resume"]:
        behind = self.parked.get(blocker, [])
        return [*(p for p in behind if p.id not in self.done), resume(blocker, key, behind)]


def replay_order(
    letters: Sequence["Letter"], chosen: Sequence["Letter"], done: set[str]
) -> list["Letter | Resume"]:
    """`chosen` in quarantine order (`Holds.order`), `letters` being the whole topic."""
    return Holds.read(letters, done).order(chosen)


def produce_resume(producer: Producer, marker: Resume) -> None:
    """Write the marker to the blocking job's partition (where every job of its key is)."""
    headers: Any = [
        (QUARANTINE_RESUME, marker.blocker.encode()),
        (QUARANTINE_COVERS, str(marker.covers).encode()),
    ]
    producer.produce(marker.topic, None, marker.key, partition=marker.partition, headers=headers)
