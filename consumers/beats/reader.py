"""The reader's side: every worker's latest beat, with its age, rates and whether it is gone.

`read_workers` reads the compacted beats topic from its start to its end (by assignment: it
joins no group and commits nothing), keeps the latest beat of each worker, drops the workers
whose last record is a tombstone (they stopped cleanly), and judges the rest by the age of their
last beat, in units of the interval that worker announced:

    live    its last beat is at most `gone_after` intervals old
    gone    older than that (crashed, frozen or cut off); shown until `forget_after` intervals

The topic holds about one record per worker once compacted, so reading it whole is cheap.
"""

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from keel.consumers.beats.beat import Beat, decode
from keel.consumers.dead_letters.parking import read_state, state_reader
from keel.schemas import clients
from keel.schemas.beats import BeatSettings
from keel.schemas.settings import ClusterSettings

State = Literal["live", "gone"]
Record = tuple[bytes | None, bytes | None]
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class WorkerView:
    """One worker as a reader sees it now."""

    beat: Beat
    age: float  # seconds since its last beat
    state: State

    @property
    def rates(self) -> dict[str, float]:
        """Jobs per second by counter, between its last two beats."""
        return self.beat.rates()

    def as_json(self) -> dict[str, object]:
        """A plain object for `keel workers --json` and the console."""
        beat = self.beat
        worker = beat.worker
        return {
            "id": str(worker),
            "group": worker.group,
            "host": worker.host,
            "pid": worker.pid,
            "child": worker.child,
            "state": self.state,
            "age": round(self.age, 3),
            "started": beat.started,
            "interval": beat.interval,
            "running": beat.running,
            "buffered": beat.buffered,
            "partitions": [[topic, p] for topic, p in beat.partitions],
            "counts": dict(beat.now.counts),
            "rates": {name: round(rate, 3) for name, rate in self.rates.items()},
        }


def latest(records: Iterable[Record]) -> dict[bytes, Beat]:
    """The last beat of each key, in log order; a tombstone forgets its key."""
    found: dict[bytes, Beat] = {}
    for key, value in records:
        if key is None:
            continue
        beat = None if value is None else decode(value)
        if beat is None:
            found.pop(key, None)  # a tombstone (or a value this reader cannot read)
        else:
            found[key] = beat
    return found


def views(
    beats: Mapping[bytes, Beat], now: float, settings: BeatSettings, group: str | None = None
) -> list[WorkerView]:
    """The workers to show at epoch second `now`, by group then id."""
    shown = []
    for beat in beats.values():
        if group is not None and beat.worker.group != group:
            continue
        age = max(now - beat.now.at, 0.0)
        if age > settings.forget_after * beat.interval:
            continue
        state: State = "live" if age <= settings.gone_after * beat.interval else "gone"
        shown.append(WorkerView(beat, age, state))
    return sorted(shown, key=lambda view: view.beat.worker)


def read_workers(
    cluster: ClusterSettings,
    group: str | None = None,
    *,
    settings: BeatSettings | None = None,
    now: float | None = None,
    timeout: float = READ_TIMEOUT,
) -> list[WorkerView]:
    """The workers (of `group`, or all) whose beats are in the topic now; [] without the topic.

    Raises `TimeoutError` if the topic cannot be read to its end within `timeout` seconds."""
    settings = settings or BeatSettings()
    if settings.topic not in clients.admin(cluster).list_topics(timeout=timeout).topics:
        return []
    records = read_state(state_reader(cluster), settings.topic, timeout) or []
    return views(latest(records), time.time() if now is None else now, settings, group)
