"""Record keys: bytes as given, text and UUIDs as their UTF-8 text, so any tool shows them."""

from uuid import UUID, uuid4

import pytest

from keel.producers.records import Key, encode_key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (None, None),
        (b"\x00raw", b"\x00raw"),
        ("user-42", b"user-42"),
        ("naïve", "naïve".encode()),
        (UUID("0190f3c2-7b1e-7cc0-8e3a-5c4a1b2d3e4f"), b"0190f3c2-7b1e-7cc0-8e3a-5c4a1b2d3e4f"),
    ],
)
def test_keys_travel_as_bytes_or_utf8_text(key: Key | None, expected: bytes | None) -> None:
    assert encode_key(key) == expected


def test_a_uuid_key_is_its_canonical_text() -> None:
    for _ in range(1_000):
        key = uuid4()
        assert encode_key(key) == str(key).encode()
