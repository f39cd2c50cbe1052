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
    # Job status (docs/status.md): workers record this type's transitions by job id, and a
    # publisher writes `queued`. A `keel_result` model (a Job subclass, from its own .avsc)
    # is what the handler returns; it is stored with the `done` status, and implies a status.
    keel_status: ClassVar[bool] = False
    keel_result: ClassVar["type[Job] | None"] = None
