"""Which job types exist: Avro full name <-> model class, with each type's schema and ordering.

A catalog is built from `.avsc` files and the models generated from them, paired by Avro full
name (`keel.jobs.SendEmail`). Whether a type is ordered is part of its contract, written in the
schema as `"keel.ordered": true`: the producer then refuses to publish it without a key, because
without one Kafka spreads a single entity's jobs over several partitions. Topics are not part of
the contract; they come from the producer's routing settings.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro

from keel.schemas.errors import NotInCatalogError
from keel.schemas.generate import AVRO_DIR
from keel.schemas.job import Job
from keel.schemas.jobs import GenerateReport, ProcessPayment, SendEmail

ORDERED_PROPERTY = "keel.ordered"
REFERENCE_JOBS: tuple[type[Job], ...] = (SendEmail, GenerateReport, ProcessPayment)


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


@dataclass(frozen=True)
class JobType:
    """One job type: its model, its Avro schema (text, and parsed for fastavro) and ordering."""

    name: str
    model: type[Job]
    schema_str: str
    parsed: dict[str, Any] = field(repr=False, compare=False)
    ordered: bool

    @classmethod
    def from_schema(cls, model: type[Job], schema: Mapping[str, Any]) -> "JobType":
        """Pair `model` with its schema; refuses a schema named differently from the model."""
        name = full_name(schema)
        if name != model.get_fullname():
            raise ValueError(f"{model.__name__} is {model.get_fullname()}, its schema is {name}")
        return cls(
            name=name,
            model=model,
            schema_str=json.dumps(schema),
            parsed=parse_record_schema(schema),
            ordered=bool(schema.get(ORDERED_PROPERTY, False)),
        )


class JobCatalog:
    """The job types one service knows, looked up by name (decoding) or by model (encoding)."""

    def __init__(self, types: Iterable[JobType]) -> None:
        self._by_name: dict[str, JobType] = {}
        self._by_model: dict[type[Job], JobType] = {}
        for job_type in types:
            if job_type.name in self._by_name:
                raise ValueError(f"job type {job_type.name} is in the catalog twice")
            self._by_name[job_type.name] = job_type
            self._by_model[job_type.model] = job_type

    @classmethod
    def from_directory(cls, directory: Path, models: Iterable[type[Job]]) -> "JobCatalog":
        """Pair each model with the `.avsc` file in `directory` that has its full name."""
        schemas = {full_name(s): s for s in map(_read, sorted(directory.glob("*.avsc")))}
        types = []
        for model in models:
            schema = schemas.get(model.get_fullname())
            if schema is None:
                raise ValueError(f"no schema for {model.get_fullname()} in {directory}")
            types.append(JobType.from_schema(model, schema))
        return cls(types)

    def get(self, name: str) -> JobType | None:
        """The type named `name`, or None: what a decoder asks about a writer's schema."""
        return self._by_name.get(name)

    def of(self, model: type[Job]) -> JobType:
        """The type of a model; raises `NotInCatalogError` for a model the catalog lacks."""
        try:
            return self._by_model[model]
        except KeyError:
            raise NotInCatalogError(f"{model.__name__} is not in the job catalog") from None

    def including(self, other: "JobCatalog") -> "JobCatalog":
        """This catalog plus the types of `other`: how a service adds its own jobs."""
        return JobCatalog([*self, *other])

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[JobType]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def reference_catalog() -> JobCatalog:
    """The catalog of keel's reference jobs, from `schemas/avro/`."""
    return JobCatalog.from_directory(AVRO_DIR, REFERENCE_JOBS)


def _read(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema
