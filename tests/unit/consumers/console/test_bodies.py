"""A record's value shown without a registry when it is not framed Avro."""

from keel.consumers.console.bodies import BodyReader, plain


def test_text_stays_text_and_other_bytes_show_as_hex() -> None:
    assert (plain(b"hello").text, plain(b"hello").read_as) == ("hello", "utf-8")
    assert (plain(b"\xff\x00").text, plain(b"\xff\x00").read_as) == ("ff 00", "hex")


def test_a_value_without_the_framing_never_asks_the_registry() -> None:
    reader = BodyReader(registry=None)  # type: ignore[arg-type]

    assert reader.read(b"12").text == "12"
    assert reader.read(None).read_as.startswith("no value")
