"""The `k2:` commit metadata: finished offsets, in-flight attempts and the sealed mark."""

import pytest

from keel.consumers.pipeline.metadata import (
    PREFIX,
    CommitMetadata,
    InFlight,
    decode_metadata,
    encode_metadata,
    is_sealed,
)
from keel.consumers.pipeline.offsets import METADATA_LIMIT, encode_finished

NOW = 1_764_000_000_000


@pytest.mark.parametrize("sealed", [True, False])
def test_round_trip_keeps_finished_offsets_attempts_due_times_and_the_seal(sealed: bool) -> None:
    in_flight = {
        1000: InFlight(begun=2),
        1003: InFlight(begun=1, due_ms=NOW + 9_500),
        1_000_000: InFlight(begun=7, due_ms=NOW + 1),
    }
    finished = [1001, 1002, 1004, 5000, 5001, 5002]
    text = encode_metadata(1000, finished, in_flight, sealed=sealed, now_ms=NOW)
    assert text.startswith(PREFIX)
    assert decode_metadata(1000, text) == CommitMetadata(finished, in_flight, sealed)
    assert is_sealed(text) is sealed


def test_nothing_in_flight_encodes_the_same_string_at_any_time() -> None:
    # The committer commits only what moved: an idle partition must not move with the clock.
    first = encode_metadata(10, [12], {11: InFlight(1)}, sealed=False, now_ms=NOW)
    assert encode_metadata(10, [12], {11: InFlight(1)}, sealed=False, now_ms=NOW + 5000) == first


def test_a_due_time_already_past_survives_as_due_now() -> None:
    text = encode_metadata(0, [], {3: InFlight(2, due_ms=NOW - 4000)}, sealed=True, now_ms=NOW)
    assert decode_metadata(0, text).in_flight == {3: InFlight(2, due_ms=NOW)}


def test_entries_below_the_watermark_are_left_out() -> None:
    text = encode_metadata(50, [49, 51], {40: InFlight(3), 52: InFlight(1)}, sealed=True, now_ms=0)
    assert decode_metadata(50, text) == CommitMetadata([51], {52: InFlight(1)}, True)


def test_version_1_metadata_still_decodes_as_a_clean_handover() -> None:
    old = encode_finished(100, [101, 102, 107])
    assert old.startswith("k1:")
    assert decode_metadata(100, old) == CommitMetadata([101, 102, 107], {}, sealed=True)


@pytest.mark.parametrize("metadata", [None, "", "someone else's", "k2:@@@", "k2:AAAA", "k2:gA"])
def test_missing_foreign_or_broken_metadata_reads_as_nothing_to_carry_on(
    metadata: str | None,
) -> None:
    assert decode_metadata(7, metadata) == CommitMetadata()


def test_overflow_keeps_the_entries_nearest_the_watermark_and_is_never_sealed() -> None:
    # Given more attempts in flight than 4 KB can hold, scattered so each entry costs bytes
    in_flight = {10 + 1000 * n: InFlight(begun=300, due_ms=NOW + 20_000) for n in range(2000)}
    finished = list(range(5, 400_000, 7))
    text = encode_metadata(0, finished, in_flight, sealed=True, now_ms=NOW)
    # Then it fits, keeps a prefix of the entries and some finished runs, and is not sealed
    assert len(text.encode()) <= METADATA_LIMIT
    decoded = decode_metadata(0, text)
    kept = sorted(decoded.in_flight)
    assert 100 < len(kept) < 2000
    assert kept == sorted(in_flight)[: len(kept)]
    assert all(decoded.in_flight[o] == in_flight[o] for o in kept)
    assert decoded.finished == finished[: len(decoded.finished)]
    assert decoded.finished
    assert decoded.sealed is False


def test_overflow_of_finished_runs_alone_keeps_the_seal() -> None:
    finished = list(range(1, 200_000, 2))
    text = encode_metadata(0, finished, {0: InFlight(1)}, sealed=True, now_ms=NOW)
    assert len(text.encode()) <= METADATA_LIMIT
    decoded = decode_metadata(0, text)
    assert decoded.in_flight == {0: InFlight(1)}
    assert 0 < len(decoded.finished) < len(finished)
    assert decoded.sealed is True  # a lost finished run costs a duplicate, not a count
