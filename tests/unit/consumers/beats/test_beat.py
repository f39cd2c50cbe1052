"""A beat's pure parts: made from a metrics snapshot, rates from two beats, and its JSON."""

import pytest

from keel.consumers.beats.beat import Beat, Counts, WorkerId, beat_of, decode, encode, rates
from keel.consumers.telemetry.metrics import Snapshot

WORKER = WorkerId("billing", "pod-7", 42, 1)


def snapshot(**counts: int) -> Snapshot:
    return Snapshot(
        counts={("a.Email", outcome): n for outcome, n in counts.items()}
        | {("b.Invoice", "processed"): 5},
        durations={},
        latencies={},
        buffered=30,
        running=4,
        time_lag={("jobs", 2): 0.0, ("jobs", 0): 1.5},
        started=1000.0,
    )


def test_a_beat_sums_each_counter_over_job_types_and_lists_the_owned_partitions() -> None:
    beat = beat_of(WORKER, snapshot(processed=10, retried=2, failed=1), 2000.0, 5.0, None)
    assert beat.now == Counts(
        2000.0, {"processed": 15, "failed": 1, "retried": 2, "dead_lettered": 0}
    )
    assert (beat.running, beat.buffered) == (4, 30)
    assert beat.partitions == (("jobs", 0), ("jobs", 2))
    assert (beat.started, beat.interval, beat.before) == (1000.0, 5.0, None)


def test_rates_are_the_rise_of_each_counter_per_second_between_two_beats() -> None:
    before = Counts(100.0, {"processed": 10, "failed": 1})
    now = Counts(104.0, {"processed": 30, "failed": 1, "retried": 8})
    assert rates(before, now) == {"processed": 5.0, "failed": 0.0, "retried": 2.0}


@pytest.mark.parametrize(
    "before", [None, Counts(104.0, {"processed": 1}), Counts(105.0, {"processed": 1})]
)
def test_a_first_beat_or_one_without_time_between_has_zero_rates(before: Counts | None) -> None:
    assert rates(before, Counts(104.0, {"processed": 30})) == {"processed": 0.0}


def test_a_restarted_counter_never_gives_a_negative_rate() -> None:
    assert rates(Counts(0.0, {"processed": 50}), Counts(2.0, {"processed": 4})) == {
        "processed": 0.0
    }


def test_a_beat_survives_its_record_value_and_keys_apart_every_process() -> None:
    beat = Beat(
        WORKER,
        1000.0,
        5.0,
        3,
        9,
        (("jobs", 1),),
        Counts(2005.0, {"processed": 7}),
        Counts(2000.0, {"processed": 2}),
    )
    assert decode(encode(beat)) == beat
    assert decode(encode(beat)).rates() == {"processed": 1.0}  # type: ignore[union-attr]
    keys = {
        WorkerId("g", "h", 1, None).key(),
        WorkerId("g", "h", 1, 0).key(),
        WorkerId("g", "h", 2, 0).key(),
        WorkerId("g", "h2", 1, 0).key(),
        WorkerId("g2", "h", 1, 0).key(),
    }
    assert len(keys) == 5
    assert str(WORKER) == "pod-7:42#1"


@pytest.mark.parametrize("value", [b"", b"not json", b"[]", b'{"v": 99}', b'{"v": 1}'])
def test_a_value_that_is_not_a_known_beat_reads_as_none(value: bytes) -> None:
    assert decode(value) is None
