"""Names the worker derives: a job type's full name and a topic's dead-letter topic."""

from pydantic import BaseModel

from keel.schemas.catalog import JobCatalog
from keel.schemas.topics import dead_letter_topic


class CatalogNames:
    """Job types named as in the catalog (the Avro full name), dead-letter topics as `T.dlt`."""

    def __init__(self, catalog: JobCatalog | None = None) -> None:
        self._cache: dict[type[BaseModel], str] = {}
        if catalog is not None:
            self._cache.update({job_type.model: job_type.name for job_type in catalog})
        self._ordered = {job_type.model for job_type in catalog or () if job_type.ordered}

    def job_type(self, model: type[BaseModel]) -> str:
        name = self._cache.get(model)
        if name is None:
            namespace = getattr(getattr(model, "Meta", None), "namespace", None)
            name = f"{namespace}.{model.__name__}" if namespace else model.__name__
            self._cache[model] = name
        return name

    def is_ordered(self, model: type[BaseModel]) -> bool:
        """True for a catalog type that requires a key (`"keel.ordered": true`)."""
        return model in self._ordered

    def dead_letter_topic(self, topic: str) -> str:
        return dead_letter_topic(topic)
