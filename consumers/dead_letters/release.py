"""`keel dlt release TOPIC KEY`: let a quarantined key's parked jobs go on without its blocker.

The key's hold is the one named by its newest dead letter: the blocking job its parked jobs name,
or, before any job was parked behind it, the key's newest dead letter that is not parked. The
parked jobs not yet replayed go back to their origin in their original order, tagged for that
hold, with the resume marker behind them, in one transaction that also records them in the
replay ledger. The blocking job stays in the dead-letter topic; replaying it later runs it after
the jobs released before it.
"""

from dataclasses import dataclass

from keel.consumers.dead_letters import quarantine, replay
from keel.consumers.dead_letters.reader import stream_letters
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings


@dataclass(frozen=True)
class ReleaseReport:
    blocker: str | None  # None: the key has no dead letter to be held behind
    released: int


def blocker_for(letters: list[replay.Letter], key: bytes) -> str | None:
    """The hold of `key`: named by the newest of its dead letters (parked or blocking)."""
    mine = [x for x in letters if x.key == key]
    newest = max(mine, key=lambda x: (x.partition, x.offset), default=None)
    return None if newest is None else quarantine.blocker_of(newest)


def release(cluster: ClusterSettings, dead_letters: str, key: bytes) -> ReleaseReport:
    """Write `key`'s parked jobs (not yet replayed) and its resume marker to their origin."""
    replay.ensure_ledger(cluster, dead_letters)
    done = replay.replayed_ids(cluster, dead_letters)
    # Only the key's own letters are kept: its blocking job and the jobs parked behind it.
    letters = [x for x in stream_letters(cluster, dead_letters) if x.key == key]
    blocker = blocker_for(letters, key)
    if blocker is None:
        return ReleaseReport(None, 0)
    behind = quarantine.parked_behind(letters).get(blocker, [])
    items: list[replay.Letter | quarantine.Resume] = [p for p in behind if p.id not in done]
    items.append(quarantine.resume(blocker, key, behind))
    producer = clients.producer(
        cluster,
        {
            "transactional.id": f"keel-dlt-release-{dead_letters}",
            "message.max.bytes": 4 * 1024 * 1024,
        },
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    for item in items:
        if isinstance(item, quarantine.Resume):
            quarantine.produce_resume(producer, item)
        else:
            replay.produce_replay(producer, dead_letters, item)
    producer.commit_transaction(60)
    return ReleaseReport(blocker, len(items) - 1)
