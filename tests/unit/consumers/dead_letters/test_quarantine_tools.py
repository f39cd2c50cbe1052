"""What a replay or a release of a quarantined key writes, and in which order; the saved holds."""

from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

from keel.consumers.dead_letters.parking import KafkaKeeper, encode_hold, fold, state_key
from keel.consumers.dead_letters.quarantine import Resume, replay_order, replay_tag
from keel.consumers.dead_letters.release import blocker_for
from keel.consumers.dead_letters.replay import Letter, replay_headers
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.pipeline.quarantine import Hold
from keel.schemas.headers import (
    BLOCKED_BY,
    BLOCKED_BY_JOB,
    DLT_ORIGIN_OFFSET,
    DLT_ORIGIN_PARTITION,
    DLT_ORIGIN_TOPIC,
    DLT_REASON,
    QUARANTINE_REPLAY,
)

KEY = b"account-1"
BLOCKER = "jobs/0/2"


def letter(
    offset: int,
    origin: int,
    reason: str,
    key: bytes | None = KEY,
    extra: dict[str, str] | None = None,
) -> Letter:
    headers = {
        DLT_ORIGIN_TOPIC: "jobs",
        DLT_ORIGIN_PARTITION: "0",
        DLT_ORIGIN_OFFSET: str(origin),
        DLT_REASON: reason,
        **(extra or {}),
    }
    raw = tuple((name, value.encode()) for name, value in headers.items())
    return Letter("jobs.dlt", 0, offset, key, b"job", raw)


def parked(offset: int, origin: int) -> Letter:
    return letter(offset, origin, "quarantined", extra={BLOCKED_BY: BLOCKER})


def shape(items: list[Letter | Resume]) -> list[object]:
    return [(i.blocker, i.covers) if isinstance(i, Resume) else i.id for i in items]


def test_a_replayed_blocker_brings_its_parked_jobs_in_origin_order_then_a_marker() -> None:
    # the dead-letter topic may hold parked jobs out of origin order, and a duplicate
    letters = [letter(0, 2, "rejected"), parked(1, 5), parked(2, 3), parked(3, 5), parked(4, 7)]

    ordered = replay_order(letters, letters, done=set())

    assert shape(ordered) == ["0:0", "0:2", "0:1", "0:4", (BLOCKER, 7)]


def test_parked_jobs_whose_blocker_is_not_replayed_stay_parked() -> None:
    letters = [letter(0, 2, "rejected"), parked(1, 3), letter(2, 9, "fatal-error", key=None)]

    ordered = replay_order(letters, letters[1:], done=set())

    assert shape(ordered) == ["0:2"]


def test_a_tail_parked_during_an_earlier_replay_goes_with_a_marker_of_its_own() -> None:
    letters = [letter(0, 2, "rejected"), parked(1, 3), parked(2, 8)]

    ordered = replay_order(letters, [letters[2]], done={"0:0", "0:1"})

    assert shape(ordered) == ["0:2", (BLOCKER, 8)]


def test_a_replayed_job_of_a_key_is_tagged_with_its_hold_and_loses_the_parked_headers() -> None:
    headers = dict(replay_headers(parked(1, 3), now_ms=1))

    assert headers[QUARANTINE_REPLAY] == BLOCKER.encode()
    assert BLOCKED_BY not in headers
    assert replay_tag(letter(0, 2, "rejected", key=None)) == []


def test_release_takes_the_hold_named_by_the_keys_newest_dead_letter() -> None:
    old = letter(0, 1, "rejected")
    letters = [old, letter(1, 2, "rejected"), parked(2, 3), letter(3, 4, "rejected", key=b"x")]

    assert blocker_for(letters, KEY) == BLOCKER
    assert blocker_for(letters[:1], KEY) == "jobs/0/1"
    assert blocker_for(letters, b"nobody") is None


def test_saved_holds_add_up_to_the_last_value_per_key_and_a_tombstone_ends_one() -> None:
    first, second = Hold(BLOCKER, "job-3"), Hold(BLOCKER, "job-3", parked_through=7)
    entries = [
        (state_key("jobs", KEY), encode_hold(0, KEY, first)),
        (state_key("jobs", b"gone"), encode_hold(1, b"gone", first)),
        (state_key("jobs", KEY), encode_hold(0, KEY, second)),
        (state_key("jobs", b"gone"), None),
    ]

    assert fold(entries) == {("jobs", 0): {KEY: second}}


def test_a_blocking_job_dead_lettered_twice_by_a_crash_is_replayed_once() -> None:
    copy = letter(3, 2, "rejected")
    letters = [letter(0, 2, "rejected"), parked(1, 3), parked(2, 4), copy, parked(4, 3)]

    ordered = replay_order(letters, letters, done=set())
    again = replay_order(letters, [copy], done={"0:0", "0:1", "0:2"})

    assert shape(ordered) == ["0:0", "0:1", "0:2", (BLOCKER, 4)]
    assert again == []


class _Message:
    def __init__(self, headers: list[tuple[str, bytes]]) -> None:
        self._headers = headers

    def topic(self) -> str:
        return "jobs"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 9

    def key(self) -> bytes:
        return KEY

    def value(self) -> bytes:
        return b"job"

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, 5)


def test_a_job_parked_again_names_only_its_new_blocker() -> None:
    written: list[tuple[str, list[tuple[str, bytes]]]] = []

    class Sink:
        def publish(
            self,
            topic: str,
            key: bytes | None,
            value: bytes | None,
            headers: list[tuple[str, bytes]],
            done: Callable[[str | None], None],
        ) -> None:
            written.append((topic, headers))

    class Names:
        def job_type(self, model: type) -> str:
            return model.__name__

        def dead_letter_topic(self, topic: str) -> str:
            return topic + ".dlt"

    stale = [(BLOCKED_BY, b"jobs/0/1"), (QUARANTINE_REPLAY, b"jobs/0/1")]
    record = cast(RecordState, SimpleNamespace(message=_Message(stale)))

    KafkaKeeper(Sink(), Names(), "billing").park(record, Hold(BLOCKER, "job-3"), print)

    [(topic, headers)] = written
    assert topic == "jobs.dlt"
    assert [v for n, v in headers if n == BLOCKED_BY] == [BLOCKER.encode()]
    assert [v for n, v in headers if n == BLOCKED_BY_JOB] == [b"job-3"]
    assert dict(headers)[DLT_REASON] == b"quarantined"
