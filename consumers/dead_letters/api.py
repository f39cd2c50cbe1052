"""The dead-letter tools as a Python API: what `keel dlt list|show|replay` do, as calls.

    from keel.consumers.dead_letters.api import Selection, list_dead_letters, replay, show

    oserrors = Selection(error_class="builtins.OSError")
    for listed in list_dead_letters("jobs.email", selection=oserrors, limit=100):
        print(listed.letter.id, listed.replayed, listed.summary()["reason"])
    report = replay("jobs.email", selection=oserrors, dry_run=True)  # sends nothing

Every call streams the topic (bounded memory, whatever its size); `topic` is a job topic or its
dead-letter topic; the cluster is read from the environment unless one is given.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from keel.consumers.dead_letters.ledger import ReplayLedger
from keel.consumers.dead_letters.reader import Letter, read_letter, stream_letters
from keel.consumers.dead_letters.replay import ReplayReport, Selection, dead_letter_name
from keel.consumers.dead_letters.replay import replay as replay_selected
from keel.schemas.headers import (
    DLT_ATTEMPTS,
    DLT_ERROR_CLASS,
    DLT_ERROR_MESSAGE,
    DLT_JOB_TYPE,
    DLT_LAST_FAILURE,
    DLT_ORIGIN_TOPIC,
    DLT_REASON,
)
from keel.schemas.settings import ClusterSettings

__all__ = ["Listed", "Selection", "list_dead_letters", "replay", "show", "summary"]


@dataclass(frozen=True)
class Listed:
    """A dead letter as listed: the record, and whether it was replayed already."""

    letter: Letter
    replayed: bool

    def summary(self) -> dict[str, object]:
        return {**summary(self.letter), "replayed": self.replayed}


def list_dead_letters(
    topic: str,
    *,
    selection: Selection | None = None,
    limit: int | None = None,
    cluster: ClusterSettings | None = None,
) -> Iterator[Listed]:
    """The selected dead letters of `topic`, partition by partition in offset order."""
    cluster = cluster or ClusterSettings()
    name = dead_letter_name(topic)
    selected = selection or Selection()
    done = ReplayLedger.read(cluster, name)
    count = 0
    for letter in stream_letters(cluster, name):
        if limit is not None and count >= limit:
            return
        if selected(letter):
            count += 1
            yield Listed(letter, letter in done)


def show(topic: str, record: str, *, cluster: ClusterSettings | None = None) -> Letter | None:
    """The dead letter `partition:offset` of `topic`, or None."""
    partition, _, offset = record.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        raise ValueError(f"not partition:offset: {record!r}")
    cluster = cluster or ClusterSettings()
    return read_letter(cluster, dead_letter_name(topic), int(partition), int(offset))


def replay(
    topic: str,
    *,
    selection: Selection | None = None,
    limit: int | None = None,
    rate: float | None = None,
    dry_run: bool = False,
    on_letter: Callable[[Letter], None] = lambda _letter: None,
    cluster: ClusterSettings | None = None,
    actor: str | None = None,
) -> ReplayReport:
    """Replay the selected dead letters of `topic` not replayed before (see `replay.replay`).

    `actor` names who asked; it is kept on each ledger entry."""
    return replay_selected(
        cluster or ClusterSettings(),
        dead_letter_name(topic),
        selection or Selection(),
        rate,
        limit=limit,
        dry_run=dry_run,
        on_letter=on_letter,
        actor=actor,
    )


def summary(letter: Letter) -> dict[str, object]:
    """A dead letter's identity and why it failed, as plain JSON values."""
    headers = letter.headers
    attempts = headers.get(DLT_ATTEMPTS, "")
    return {
        "topic": letter.topic,
        "id": letter.id,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": None if letter.key is None else letter.key.decode("utf-8", "backslashreplace"),
        "origin_topic": headers.get(DLT_ORIGIN_TOPIC),
        "job_type": headers.get(DLT_JOB_TYPE),
        "reason": headers.get(DLT_REASON),
        "error_class": headers.get(DLT_ERROR_CLASS),
        "error_message": headers.get(DLT_ERROR_MESSAGE),
        "attempts": int(attempts) if attempts.isdigit() else None,
        "last_failure": _iso(headers.get(DLT_LAST_FAILURE, "")),
    }


def _iso(millis: str) -> str | None:
    if not millis.isdigit():
        return None
    return datetime.fromtimestamp(int(millis) / 1000, UTC).isoformat()
