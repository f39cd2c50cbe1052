"""The base every job model derives from.

Job models are generated from the `.avsc` files in `schemas/avro/` (see `keel.schemas.generate`), so
the Avro schema stays the one contract. The base adds what a message needs beyond its fields:
instances are immutable once validated (a job in flight never changes under its producer) and
unknown fields are refused rather than silently dropped.
"""

import pydantic
from dataclasses_avroschema.pydantic import AvroBaseModel


class Job(AvroBaseModel):
    """A unit of background work: validated on construction, immutable afterwards."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")
