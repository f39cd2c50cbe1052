"""Before a worker polls: the readers of the job types it handles, resolved in advance.

A record names its writer schema by id, and the first record of each id sends the worker to
the registry (a connection, then the schema). The jobs behind that record wait for it: the
first job after a worker turned ready took 220-230 ms on a busy machine, 180-260 ms of it the
registry (docs/benchmarks.md). Looking each handled type up under each consumed topic's subject
before the first poll moves that wait to start-up, where the worker is not ready yet.

Best effort, and quiet: a subject with nothing registered yet (no job of the type published)
is skipped, and a registry that does not answer is left to the decode stage, which already
knows how to wait for it (`pipeline.decode.Unavailable`).
"""

import logging
from collections.abc import Iterable
from typing import Protocol

from keel.schemas.errors import RegistryUnavailableError
from keel.schemas.job import Job

_LOG = logging.getLogger(__name__)


class Warming(Protocol):
    """What the warm-up needs of the codec (`keel.schemas.codec.JobCodec` fits it)."""

    def warm(self, model: type[Job], topic: str) -> bool: ...


def warm_readers(codec: Warming, models: Iterable[type], topics: Iterable[str]) -> int:
    """Resolve the reader of every job type in `models` on every topic; how many were found."""
    jobs = [model for model in models if issubclass(model, Job)]
    found = 0
    for topic in topics:
        for model in jobs:
            try:
                found += codec.warm(model, topic)
            except RegistryUnavailableError as error:
                _LOG.info("schemas not resolved before the first poll: %s", error)
                return found
    return found
