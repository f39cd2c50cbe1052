"""The group generation read from librdkafka's serialised consumer group metadata."""

import struct

from confluent_kafka import Consumer

from keel.consumers.pipeline.generation import UNKNOWN, generation_of, parse_generation


def test_the_generation_follows_the_magic_in_the_machines_byte_order() -> None:
    metadata = b"CGMDv2:" + struct.pack("=i", 42) + b"group\x00member\x00\x00"
    assert parse_generation(metadata) == 42


def test_a_consumer_outside_a_group_and_an_unknown_layout_read_as_unknown() -> None:
    assert parse_generation(b"CGMDv2:" + struct.pack("=i", -1) + b"g\x00\x00\x01") == UNKNOWN
    assert parse_generation(b"CGMDv3:" + struct.pack("=i", 42)) == UNKNOWN
    assert parse_generation(b"CGMDv2:\x01") == UNKNOWN
    assert parse_generation(object()) == UNKNOWN


def test_it_reads_a_real_consumers_metadata() -> None:
    consumer = Consumer({"group.id": "g", "bootstrap.servers": "127.0.0.1:1"})
    try:
        assert generation_of(consumer) == UNKNOWN  # not joined yet
    finally:
        consumer.close()
