"""Reading beats: the latest per worker, tombstones forget, and the age decides live or gone."""

from keel.consumers.beats.beat import Beat, Counts, WorkerId, encode
from keel.consumers.beats.reader import latest, views
from keel.schemas.beats import BeatSettings

SETTINGS = BeatSettings(interval=5.0, gone_after=3, forget_after=60)


def beat(pid: int, at: float, group: str = "g", processed: int = 0) -> Beat:
    return Beat(
        WorkerId(group, "host", pid), 0.0, 5.0, 0, 0, (), Counts(at, {"processed": processed})
    )


def key(pid: int, group: str = "g") -> bytes:
    return WorkerId(group, "host", pid).key()


def test_the_last_beat_of_each_worker_counts_and_a_tombstone_forgets_it() -> None:
    records = [
        (key(1), encode(beat(1, 10.0, processed=1))),
        (key(2), encode(beat(2, 10.0))),
        (key(1), encode(beat(1, 15.0, processed=9))),
        (key(2), None),
        (None, b"ignored"),
        (key(3), encode(beat(3, 10.0))),
        (key(3), b"garbage"),
    ]
    assert latest(records) == {key(1): beat(1, 15.0, processed=9)}


def test_a_worker_is_live_up_to_gone_after_intervals_gone_after_and_forgotten_later() -> None:
    beats = {key(pid): beat(pid, at) for pid, at in [(1, 100.0), (2, 85.0), (3, 84.0), (4, -201.0)]}
    shown = views(beats, 100.0, SETTINGS)
    assert [(v.beat.worker.pid, v.state, v.age) for v in shown] == [
        (1, "live", 0.0),
        (2, "live", 15.0),
        (3, "gone", 16.0),
    ]


def test_only_the_group_asked_for_is_shown() -> None:
    beats = {key(1, "a"): beat(1, 100.0, "a"), key(2, "b"): beat(2, 100.0, "b")}
    assert [v.beat.worker.group for v in views(beats, 100.0, SETTINGS, "b")] == ["b"]
    assert [v.beat.worker.group for v in views(beats, 100.0, SETTINGS)] == ["a", "b"]
