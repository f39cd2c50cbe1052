"""A service's schema directory: its `.avsc` files, read and checked, with errors that name them.

One file per job type holds its current version; released versions stay beside it under
`history/<file stem>/vN.avsc` (see `keel.schemas.evolution`). Every file must be an Avro record
schema: anything else is refused with the file's path, before a generator or a registry sees it.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro.schema import SchemaParseException, UnknownType

from keel.schemas.catalog import full_name, parse_record_schema
from keel.schemas.errors import ContractError

_UNPARSABLE = (SchemaParseException, UnknownType, ValueError, TypeError, KeyError)


@dataclass(frozen=True)
class SchemaFile:
    """One `.avsc` file and the record schema it holds."""

    path: Path
    schema: dict[str, Any]

    @property
    def name(self) -> str:
        """The job type's Avro full name."""
        return full_name(self.schema)


def read_directory(directory: Path) -> list[SchemaFile]:
    """Every `.avsc` file directly in `directory`, in file-name order."""
    if not directory.is_dir():
        raise ContractError(f"schema directory {directory} does not exist")
    files = sorted(directory.glob("*.avsc"))
    if not files:
        raise ContractError(f"schema directory {directory} holds no .avsc files")
    return [read_file(path) for path in files]


def read_file(path: Path) -> SchemaFile:
    """The record schema in `path`; `ContractError` naming the file if it is anything else."""
    try:
        schema = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise ContractError(f"{path}: cannot be read ({error})") from error
    except json.JSONDecodeError as error:
        raise ContractError(f"{path}: not JSON ({error})") from error
    if not isinstance(schema, dict) or schema.get("type") != "record" or "name" not in schema:
        raise ContractError(f"{path}: not an Avro record schema")
    try:
        parse_record_schema(schema)
    except _UNPARSABLE as error:
        raise ContractError(f"{path}: not a valid Avro record schema ({error})") from error
    return SchemaFile(path, schema)


def select(files: list[SchemaFile], names: Iterable[str]) -> list[SchemaFile]:
    """The files of the job types `names` (full names); all of them when `names` is empty."""
    wanted = list(names)
    by_name = {file.name: file for file in files}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        known = ", ".join(sorted(by_name))
        raise ContractError(f"job type {', '.join(missing)} is not in the contract ({known})")
    return [by_name[name] for name in wanted] if wanted else files
