"""The base every job model derives from.

Job models are generated from a service's `.avsc` files (see `keel.schemas.generate`), so the
Avro schema stays the one contract. The base adds what a message needs beyond its fields:
instances are immutable once validated (a job in flight never changes under its producer) and
unknown fields are refused rather than silently dropped.
"""

from typing import ClassVar

import pydantic
from dataclasses_avroschema.pydantic import AvroBaseModel


class Job(AvroBaseModel):
    """A unit of background work: validated on construction, immutable afterwards."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    # The schema's `"keel.ordered": true`, which dataclasses-avroschema has no place for: the
    # generator writes it into the model, so a model alone states its whole contract.
    keel_ordered: ClassVar[bool] = False
