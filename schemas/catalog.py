"""Which job types exist: Avro full name <-> model class, with each type's schema and ordering.

A catalog is built from models alone: each generated model states its Avro schema back
(dataclasses-avroschema reads its annotations, defaults and docs), and its `keel_ordered` flag
carries the schema's `"keel.ordered": true`. Whether a type is ordered is part of its contract:
the producer then refuses to publish it without a key, because without one Kafka spreads a
single entity's jobs over several partitions. That a model says exactly what its `.avsc` file
says is a test of the generated module, not a check at run time. Topics are not part of the
contract; they come from the producer's routing settings.
"""

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro

from keel.schemas.errors import NotInCatalogError
from keel.schemas.job import Job

ORDERED_PROPERTY = "keel.ordered"
_UNNAMED = {"array", "map"}


def full_name(schema: Mapping[str, Any]) -> str:
    """The Avro full name of a named schema: `namespace.name`, or the name if it is dotted."""
    name = str(schema["name"])
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def parse_record_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema parsed once for fastavro; a job's schema must be an Avro record."""
    parsed = fastavro.parse_schema(dict(schema))
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ValueError(f"{full_name(schema)} is not an Avro record schema")
    return parsed


def contract_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema as keel registers it, the same whether read from a file or from a model.

    dataclasses-avroschema names array and map types, which Avro does not (the registry would
    keep the name as a property), and a file may leave `keel.ordered` out when it is false.
    """
    plain = _without_container_names(dict(schema))
    return {**plain, ORDERED_PROPERTY: bool(schema.get(ORDERED_PROPERTY, False))}


def contract_text(schema: Mapping[str, Any]) -> str:
    """The text keel registers for `schema`: `contract_schema`, with its keys sorted."""
    return json.dumps(contract_schema(schema), sort_keys=True)


@dataclass(frozen=True)
class JobType:
    """One job type: its model, its Avro schema (text, and parsed for fastavro) and ordering."""

    name: str
    model: type[Job]
    schema_str: str
    parsed: dict[str, Any] = field(repr=False, compare=False)
    ordered: bool

    @classmethod
    def from_model(cls, model: type[Job]) -> "JobType":
        """The type a generated model states: its derived schema and its ordering flag."""
        derived = model.avro_schema_to_python()
        return cls.from_schema(model, {**derived, ORDERED_PROPERTY: model.keel_ordered})

    @classmethod
    def from_schema(cls, model: type[Job], schema: Mapping[str, Any]) -> "JobType":
        """Pair `model` with `schema`; refuses a schema named differently from the model."""
        name = full_name(schema)
        if name != model.get_fullname():
            raise ValueError(f"{model.__name__} is {model.get_fullname()}, its schema is {name}")
        contract = contract_schema(schema)
        return cls(
            name=name,
            model=model,
            schema_str=contract_text(contract),
            parsed=parse_record_schema(contract),
            ordered=contract[ORDERED_PROPERTY],
        )


class JobCatalog:
    """The job types one service knows, looked up by name (decoding) or by model (encoding).

    A learning catalog (`JobCatalog.learning()`) adds a model's type the first time it is asked
    for it: what a publisher uses when given no catalog, so a service publishes its own jobs
    without listing them first. A worker's catalog is fixed: it decodes only what it can run.
    """

    def __init__(self, types: Iterable[JobType] = (), *, learns: bool = False) -> None:
        self._by_name: dict[str, JobType] = {}
        self._by_model: dict[type[Job], JobType] = {}
        self._learns = learns
        self._learning = threading.Lock()  # one thread takes in a new model; lookups take none
        for job_type in types:
            self._add(job_type)

    @classmethod
    def from_models(cls, models: Iterable[type[Job]]) -> "JobCatalog":
        """The catalog of `models`, each stating its own schema."""
        return cls(JobType.from_model(model) for model in models)

    @classmethod
    def learning(cls) -> "JobCatalog":
        """An empty catalog that takes in each model it is asked to encode."""
        return cls(learns=True)

    def get(self, name: str) -> JobType | None:
        """The type named `name`, or None: what a decoder asks about a writer's schema."""
        return self._by_name.get(name)

    def of(self, model: type[Job]) -> JobType:
        """The type of a model; raises `NotInCatalogError` for a model the catalog lacks."""
        found = self._by_model.get(model)
        if found is not None:
            return found
        if not self._learns:
            raise NotInCatalogError(f"{model.__name__} is not in the job catalog")
        with self._learning:  # threads publishing a new type at once: the first takes it in
            return self._by_model.get(model) or self._add(JobType.from_model(model))

    def including(self, other: "JobCatalog") -> "JobCatalog":
        """This catalog plus the types of `other`."""
        return JobCatalog([*self, *other], learns=self._learns)

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def _add(self, job_type: JobType) -> JobType:
        if job_type.name in self._by_name:
            raise ValueError(f"job type {job_type.name} is in the catalog twice")
        self._by_name[job_type.name] = job_type
        self._by_model[job_type.model] = job_type
        return job_type

    def __iter__(self) -> Iterator[JobType]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def _without_container_names(schema: dict[str, Any]) -> dict[str, Any]:
    kept = {key: _stripped(value) for key, value in schema.items()}
    if isinstance(kept.get("type"), str) and kept["type"] in _UNNAMED:
        kept.pop("name", None)
    return kept


def _stripped(value: object) -> object:
    if isinstance(value, list):
        return [_stripped(branch) for branch in value]
    return _without_container_names(value) if isinstance(value, dict) else value
