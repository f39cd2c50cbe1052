"""The reference job models, generated from `schemas/avro/*.avsc`: do not edit by hand.

Change the `.avsc` file, then run `keel schemas generate`.
"""

import pydantic

from keel.schemas.job import Job


class LoadJob(Job):
    """
    A job of the load harness. Its key, sequence number and intended send time let the oracle check order and measure latency from when the job was meant to be sent.
    """

    key: str = pydantic.Field(
        description="The record key, repeated in the body so a completion can be logged without the record."
    )
    seq: int = pydantic.Field(description="Position of this job among the jobs of its key, from 0.")
    intended_ns: int = pydantic.Field(
        description="When the open-loop producer meant to send the job, in nanoseconds since the epoch."
    )
    payload: bytes = pydantic.Field(
        description="Padding to reach the configured record size.", default=b""
    )

    class Meta:
        namespace = "keel.load"
