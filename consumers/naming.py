"""Names the worker derives: a job type's full name and a topic's dead-letter topic."""

from pydantic import BaseModel

DEAD_LETTER_SUFFIX = ".dlt"


class DefaultNames:
    """The Avro full name (`namespace.Name`) of a job model, and `T.dlt` for topic `T`."""

    def __init__(self) -> None:
        self._cache: dict[type[BaseModel], str] = {}

    def job_type(self, model: type[BaseModel]) -> str:
        name = self._cache.get(model)
        if name is None:
            namespace = getattr(getattr(model, "Meta", None), "namespace", None)
            name = f"{namespace}.{model.__name__}" if namespace else model.__name__
            self._cache[model] = name
        return name

    def dead_letter_topic(self, topic: str) -> str:
        return f"{topic}{DEAD_LETTER_SUFFIX}"
