"""Replaying dead letters to their origin topic, once.

A replay writes the record's original key and value to the topic it came from, with the
original job headers, `keel-attempt` reset to 1, and an audit trail (`keel-replay-of`: which
dead-letter record, `keel-replayed-at`). Each replay is also recorded in the ledger topic
beside the dead-letter topic (`keel.consumers.dead_letters.ledger`), in the same Kafka
transaction as the replayed record: a record is replayed exactly once, however often `replay`
runs and wherever it stops. A replayed job that blocked its key brings the key's parked jobs
and a resume marker behind it (`keel.consumers.dead_letters.quarantine`).

The job's `keel-expires-at` is left behind: a replay is a decision to run the job now, and an
expired job replayed with its expiry would only be set aside again.

The topic is streamed twice: once to learn which jobs are parked behind which blocking job (and
which blocking jobs were replayed before), then to choose and send. Memory is bounded by the
ledger and the parked jobs; the chosen letters are held in memory only when some of them must be
reordered behind a blocking job.

The building blocks are public for other tools that replay: `stream_letters` (reader) yields
a topic's records one by one, `Replayer` sends letters back in transactions of `BATCH`, and
`replay` ties them to a `Selection`, a limit, a rate and a dry run.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from confluent_kafka import Producer

from keel.consumers.dead_letters import quarantine
from keel.consumers.dead_letters.ledger import (
    LEDGER_SUFFIX,
    ReplayLedger,
    ensure_ledger,
    ledger_topic,
)
from keel.consumers.dead_letters.reader import Letter, stream_letters
from keel.consumers.pipeline.records import Header
from keel.schemas import clients
from keel.schemas.headers import (
    ATTEMPT,
    DEAD_LETTER_HEADERS,
    DLT_ERROR_CLASS,
    DLT_JOB_TYPE,
    DLT_LAST_FAILURE,
    DLT_ORIGIN_TOPIC,
    EXPIRES_AT,
    REPLAY_OF,
    REPLAYED_AT,
    REPLAYED_BY,
)
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import DEAD_LETTER_SUFFIX

__all__ = [
    "BATCH",
    "LEDGER_SUFFIX",
    "Letter",
    "ReplayReport",
    "Replayer",
    "Selection",
    "dead_letter_name",
    "ensure_ledger",
    "read_letters",
    "replay",
    "replay_headers",
    "replayed_ids",
]

BATCH = 200  # replays per transaction


@dataclass(frozen=True)
class Selection:
    """Which dead letters to act on; empty fields select everything."""

    job_type: str | None = None
    error_class: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def __call__(self, letter: Letter) -> bool:
        headers = letter.headers
        failed_at = int(headers.get(DLT_LAST_FAILURE) or 0)
        return (
            (self.job_type is None or headers.get(DLT_JOB_TYPE) == self.job_type)
            and (self.error_class is None or headers.get(DLT_ERROR_CLASS) == self.error_class)
            and (self.since_ms is None or failed_at >= self.since_ms)
            and (self.until_ms is None or failed_at < self.until_ms)
        )


@dataclass(frozen=True)
class ReplayReport:
    """What a replay did, counted over the records it read (all of them, unless limited)."""

    replayed: int
    already_replayed: int
    not_selected: int
    dry_run: bool = False


def dead_letter_name(topic: str) -> str:
    """Accept either a job topic or its dead-letter topic."""
    return topic if topic.endswith(DEAD_LETTER_SUFFIX) else f"{topic}{DEAD_LETTER_SUFFIX}"


def read_letters(cluster: ClusterSettings, topic: str, timeout: float = 30.0) -> list[Letter]:
    """Every record of `topic`, held in memory: for small topics; `stream_letters` streams."""
    return list(stream_letters(cluster, topic, timeout=timeout))


def replayed_ids(cluster: ClusterSettings, dead_letters: str, timeout: float = 30.0) -> set[str]:
    """The dead-letter records already replayed, from the ledger, as `partition:offset`."""
    return ReplayLedger.read(cluster, dead_letters, timeout).ids()


class Replayer:
    """Sends letters back to their origin topics, each with its ledger entry, in transactions.

    Use as a `with` block: a transaction is committed every `batch` letters and at the end; an
    exception aborts the open one (its letters were not replayed, and stay replayable).
    """

    def __init__(
        self,
        cluster: ClusterSettings,
        dead_letters: str,
        batch: int = BATCH,
        actor: str | None = None,
    ) -> None:
        """`actor`: who asked for the replay, written on each ledger entry (the audit trail)."""
        self._dead_letters = dead_letters
        self._actor = actor
        self._batch = batch
        self._in_transaction = 0
        self._producer = clients.producer(
            cluster,
            {
                "transactional.id": f"keel-dlt-replay-{dead_letters}",
                "message.max.bytes": 4 * 1024 * 1024,
            },
        )
        self._producer.init_transactions(30)

    def send(self, letter: Letter) -> None:
        if not self._in_transaction:
            self._producer.begin_transaction()
        produce_replay(self._producer, self._dead_letters, letter, self._actor)
        self._in_transaction += 1
        if self._in_transaction >= self._batch:
            self.commit()

    def send_resume(self, marker: quarantine.Resume) -> None:
        """The marker that ends a key's hold, in the transaction of the jobs it follows."""
        if not self._in_transaction:
            self._producer.begin_transaction()
        quarantine.produce_resume(self._producer, marker)
        self._in_transaction += 1

    def commit(self) -> None:
        """Commit the open transaction, if any: its letters are replayed, and in the ledger."""
        if self._in_transaction:
            self._producer.commit_transaction(60)
            self._in_transaction = 0

    def __enter__(self) -> "Replayer":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        _error: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        elif self._in_transaction:
            self._producer.abort_transaction(60)


def replay(
    cluster: ClusterSettings,
    dead_letters: str,
    selection: Selection = Selection(),
    rate: float | None = None,
    *,
    limit: int | None = None,
    dry_run: bool = False,
    on_letter: Callable[[Letter], None] = lambda _letter: None,
    actor: str | None = None,
) -> ReplayReport:
    """Replay the selected, not yet replayed dead letters to their origin topics.

    At most `limit` of them, at most `rate` a second; `on_letter` is told of each as it goes (or,
    with `dry_run`, of each that would go, and nothing is sent or created). `actor` names who
    asked, on each ledger entry.
    """
    if not dry_run:
        ensure_ledger(cluster, dead_letters)
    done = ReplayLedger.read(cluster, dead_letters)
    holds = quarantine.Holds.read(stream_letters(cluster, dead_letters), done.ids())
    counts = _Counts()
    chosen: Iterator[Letter | quarantine.Resume] = _choose(
        stream_letters(cluster, dead_letters), selection, done, counts, limit
    )
    if holds.parked:
        chosen = iter(holds.order(list(_only_letters(chosen))))
    started = time.monotonic()
    if dry_run:
        for item in chosen:
            if isinstance(item, Letter):
                on_letter(item)
                counts.replayed += 1
        return ReplayReport(counts.replayed, counts.already, counts.not_selected, dry_run)
    with Replayer(cluster, dead_letters, actor=actor) as replayer:
        for item in chosen:
            if isinstance(item, quarantine.Resume):
                replayer.send_resume(item)
                continue
            _pace(started, counts.replayed, rate)
            replayer.send(item)
            on_letter(item)
            counts.replayed += 1
    return ReplayReport(counts.replayed, counts.already, counts.not_selected, dry_run)


def _only_letters(items: Iterator[Letter | quarantine.Resume]) -> Iterator[Letter]:
    return (item for item in items if isinstance(item, Letter))


@dataclass
class _Counts:
    replayed: int = 0
    already: int = 0
    not_selected: int = 0


def _choose(
    letters: Iterator[Letter],
    selection: Selection,
    done: ReplayLedger,
    counts: _Counts,
    limit: int | None,
) -> Iterator[Letter]:
    chosen = 0
    for letter in letters:
        if limit is not None and chosen >= limit:
            return
        if not selection(letter):
            counts.not_selected += 1
        elif letter in done:
            counts.already += 1
        else:
            chosen += 1
            yield letter


def replay_headers(letter: Letter, now_ms: int) -> list[Header]:
    """The original job headers, attempt reset, plus where and when the replay came from."""
    kept = [
        (name, value)
        for name, value in letter.raw_headers
        if name not in DEAD_LETTER_HEADERS
        and name not in {ATTEMPT, REPLAY_OF, REPLAYED_AT, EXPIRES_AT}
        and name not in quarantine.QUARANTINE_HEADERS
    ]
    return [
        *kept,
        *quarantine.replay_tag(letter),
        (ATTEMPT, b"1"),
        (REPLAY_OF, f"{letter.topic}/{letter.id}".encode()),
        (REPLAYED_AT, str(now_ms).encode()),
    ]


def produce_replay(
    producer: Producer, dead_letters: str, letter: Letter, actor: str | None = None
) -> None:
    origin = letter.header(DLT_ORIGIN_TOPIC)
    if not origin:
        raise ValueError(f"{letter.topic}/{letter.id} has no {DLT_ORIGIN_TOPIC} header")
    headers: Any = replay_headers(letter, int(time.time() * 1000))
    producer.produce(origin, letter.value, letter.key, headers=headers)
    audit: Any = [] if actor is None else [(REPLAYED_BY, actor.encode())]
    producer.produce(ledger_topic(dead_letters), origin.encode(), letter.id.encode(), headers=audit)
    producer.poll(0)


def _pace(started: float, count: int, rate: float | None) -> None:
    if rate:
        wait = started + count / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
