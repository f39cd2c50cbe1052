"""The group generation a consumer is in: the first part of every fence (`Context.fence`).

confluent-kafka shows the generation only inside `consumer_group_metadata()`, the value a
transactional producer sends along with its offsets: librdkafka's own serialisation of the
member's group metadata, the magic `CGMDv2:` followed by the generation id as a 32-bit integer
in the machine's byte order, then the group and member ids. With the KIP-848 `consumer`
protocol, librdkafka keeps the member epoch in the same field. Reading it here, on the poll
thread in the `assigned` callback, gives the generation the partitions were assigned in.

Should a later librdkafka change that layout, the magic no longer matches and the generation
reads as unknown (-1): fences then order a key's runs by offset alone, which still refuses a
zombie's write that lands after a later job's, but not one that lands after a replay of it.
"""

import struct
from typing import Protocol

UNKNOWN = -1
_MAGIC = b"CGMDv2:"
_GENERATION = struct.Struct("=i")


class GroupMember(Protocol):
    """What reading the generation needs of the consumer."""

    def consumer_group_metadata(self) -> object: ...


def generation_of(consumer: GroupMember) -> int:
    """The consumer's group generation (member epoch with KIP-848); -1 when unknown."""
    return parse_generation(consumer.consumer_group_metadata())


def parse_generation(metadata: object) -> int:
    """The generation in librdkafka's serialised group metadata; -1 if it is not that layout."""
    if not isinstance(metadata, bytes) or not metadata.startswith(_MAGIC):
        return UNKNOWN
    if len(metadata) < len(_MAGIC) + _GENERATION.size:
        return UNKNOWN
    (generation,) = _GENERATION.unpack_from(metadata, len(_MAGIC))
    return int(generation)
