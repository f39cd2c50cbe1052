import pytest

from keel.consumers.pipeline.offsets import (
    METADATA_LIMIT,
    PartitionOffsets,
    decode_finished,
    encode_finished,
)


def tracker(start: int, received: range) -> PartitionOffsets:
    offsets = PartitionOffsets(start)
    for offset in received:
        assert offsets.receive(offset)
    return offsets


@pytest.mark.parametrize(
    ("finished", "committable"),
    [
        ([], 10),
        ([10], 11),
        ([11, 12, 13], 10),  # later successes never move the watermark past 10
        ([11, 10], 12),
        ([13, 12, 11, 10], 14),
        ([10, 11, 12, 13, 14], 15),
        ([14], 10),
    ],
)
def test_committable_is_the_contiguous_watermark_never_the_latest_success(
    finished: list[int], committable: int
) -> None:
    offsets = tracker(10, range(10, 15))
    for offset in finished:
        offsets.finish(offset)
    assert offsets.committable() == committable


def test_nothing_received_commits_the_start() -> None:
    assert PartitionOffsets(42).committable() == 42


def test_gaps_in_delivered_offsets_count_as_finished() -> None:
    offsets = PartitionOffsets(0)
    for offset in (0, 3, 7):
        offsets.receive(offset)
    offsets.finish(0)
    assert offsets.committable() == 3
    offsets.finish(7)
    assert offsets.committable() == 3
    offsets.finish(3)
    assert offsets.committable() == 8


def test_finished_above_lists_what_a_new_owner_may_skip() -> None:
    offsets = tracker(0, range(6))
    for offset in (2, 3, 5):
        offsets.finish(offset)
    assert offsets.committable() == 0
    assert offsets.finished_above() == [2, 3, 5]
    assert offsets.outstanding() == 6 - 3


def test_a_new_owner_skips_what_the_previous_one_finished() -> None:
    offsets = PartitionOffsets(4, skip=[5, 6, 9])
    runnable = [offset for offset in range(4, 11) if offsets.receive(offset)]
    assert runnable == [4, 7, 8, 10]
    for offset in runnable:
        offsets.finish(offset)
    assert offsets.committable() == 11


def test_a_skip_not_yet_seen_is_kept_for_the_next_commit() -> None:
    offsets = PartitionOffsets(4, skip=[6])
    offsets.receive(4)
    offsets.finish(4)
    assert offsets.committable() == 5
    assert offsets.finished_above() == [6]


def test_redelivered_offsets_below_the_tracked_position_do_not_run() -> None:
    offsets = tracker(0, range(3))
    assert not offsets.receive(1)


@pytest.mark.parametrize(
    "finished",
    [[], [5], [5, 6, 7], [3, 4, 9, 10, 11, 50], list(range(100, 400, 2)), [10**12]],
)
def test_metadata_round_trips(finished: list[int]) -> None:
    encoded = encode_finished(3, finished)
    assert decode_finished(3, encoded) == finished


def test_metadata_ignores_offsets_below_the_base() -> None:
    assert decode_finished(10, encode_finished(10, [4, 12])) == [12]


def test_metadata_stays_within_kafkas_limit_keeping_the_runs_nearest_the_watermark() -> None:
    scattered = list(range(0, 200_000, 3))  # no runs: the worst case for the encoding
    encoded = encode_finished(0, scattered)
    assert len(encoded.encode()) <= METADATA_LIMIT
    decoded = decode_finished(0, encoded)
    assert len(decoded) > 1000
    assert decoded == scattered[: len(decoded)]


def test_long_runs_are_compact() -> None:
    assert len(encode_finished(0, range(1, 100_001))) < 20


@pytest.mark.parametrize("metadata", [None, "", "other tool's note", "k1:!!!", "k1:gA"])
def test_foreign_or_broken_metadata_skips_nothing(metadata: str | None) -> None:
    assert decode_finished(0, metadata) == []


def test_without_a_committed_position_the_first_record_sets_it() -> None:
    offsets = PartitionOffsets(None)
    assert offsets.committable() is None
    offsets.receive(500)
    assert offsets.committable() == 500
    offsets.finish(500)
    assert offsets.committable() == 501


def test_skipped_offsets_stay_in_the_metadata_until_the_watermark_passes_them() -> None:
    # A new owner skips 6 and 7 (finished by the previous one) while 5 is still running:
    # if it hands the partition on now, the next owner must still skip 6 and 7.
    offsets = PartitionOffsets(5, skip=[6, 7])
    assert [offsets.receive(o) for o in (5, 6, 7, 8)] == [True, False, False, True]
    offsets.finish(8)
    assert offsets.committable() == 5
    assert offsets.finished_above() == [6, 7, 8]
    offsets.finish(5)
    assert offsets.committable() == 9
    assert offsets.finished_above() == []


def test_a_position_past_markers_moves_the_watermark_when_nothing_is_unfinished() -> None:
    offsets = tracker(0, range(3))
    for offset in range(3):
        offsets.finish(offset)
    offsets.pass_to(4)  # offset 3 was a transaction marker, never delivered
    assert offsets.committable() == 4


def test_a_position_past_markers_never_passes_a_record_still_running() -> None:
    offsets = tracker(0, range(3))
    offsets.finish(1)
    offsets.finish(2)
    offsets.pass_to(4)
    assert offsets.committable() == 0
    offsets.finish(0)
    assert offsets.committable() == 4


def test_a_position_behind_the_watermark_changes_nothing() -> None:
    offsets = tracker(10, range(10, 12))
    offsets.finish(10)
    offsets.finish(11)
    offsets.pass_to(5)
    assert offsets.committable() == 12
    assert not offsets.receive(11)  # what was received stays received


def test_a_position_before_any_record_or_commit_becomes_the_watermark() -> None:
    offsets = PartitionOffsets(None)
    offsets.pass_to(2)  # an aborted record and its marker
    assert offsets.committable() == 2
    assert offsets.receive(2)
    assert offsets.committable() == 2
