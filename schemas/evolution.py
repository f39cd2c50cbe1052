"""Is a job's schema still compatible with what came before it?

Two judges, as `keel schemas check` asks both:
- the repo: each job type keeps its released versions beside its file, `history/<file>/vN.avsc`;
  Apache Avro's own reader/writer checker compares the current file with them, under the
  subject's compatibility level (BACKWARD: new code reads old jobs; FORWARD: old code reads new
  jobs; FULL: both; `_TRANSITIVE`: against every version, not only the latest);
- the registry: it is asked (verbosely, so its reason comes back) whether the schema may be
  registered under the subject, by whatever level the subject has there.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
)

from keel.schemas import clients, schema_registry
from keel.schemas.settings import ClusterSettings

HISTORY_DIR = "history"


@dataclass(frozen=True)
class Verdict:
    """One comparison: `subject` against `against`, and why not when it is incompatible."""

    subject: str
    against: str
    compatible: bool
    reasons: list[str] = field(default_factory=list)


def history(avsc: Path) -> list[tuple[str, dict[str, Any]]]:
    """The released versions kept next to `avsc`, oldest first: `[("v1", schema), ...]`."""
    folder = avsc.parent / HISTORY_DIR / avsc.stem
    versions = sorted(folder.glob("v*.avsc"), key=lambda path: int(path.stem[1:]))
    return [(path.stem, json.loads(path.read_text())) for path in versions]


def check_history(
    subject: str,
    current: dict[str, Any],
    versions: list[tuple[str, dict[str, Any]]],
    level: str,
) -> list[Verdict]:
    """Compare `current` with the kept versions the way `level` asks."""
    if level == "NONE" or not versions:
        return []
    compared = versions if level.endswith("_TRANSITIVE") else versions[-1:]
    return [_compare(subject, current, label, old, level) for label, old in compared]


def check_registry(cluster: ClusterSettings, subject: str, schema_str: str) -> Verdict | None:
    """The registry's verdict on `schema_str` for `subject`; None when the subject is new."""
    with clients.registry(cluster) as client:
        # Asked first: Apicurio answers "compatible" for a subject it does not have.
        if schema_registry.is_new(client, subject):
            return None
        answer = schema_registry.compatibility(client, subject, schema_str)
        compatible = bool(answer["is_compatible"])
        messages = [str(message) for message in answer.get("messages") or []]
        if not compatible and not messages:
            # Apicurio gives no detail here; registering shows its full message.
            level = schema_registry.level(client, subject)
            messages = [
                f"refused under the subject's {level} rule; `keel schemas register` says why"
            ]
    return Verdict(subject, "registry latest", compatible, messages)


def _compare(
    subject: str, current: dict[str, Any], label: str, old: dict[str, Any], level: str
) -> Verdict:
    new_schema, old_schema = _parse(current), _parse(old)
    pairs = []
    if level.startswith(("BACKWARD", "FULL")):
        pairs.append(("new code reading old jobs", new_schema, old_schema))
    if level.startswith(("FORWARD", "FULL")):
        pairs.append(("old code reading new jobs", old_schema, new_schema))
    reasons = []
    for direction, reader, writer in pairs:
        result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
        if result.compatibility is not SchemaCompatibilityType.compatible:
            reasons += [f"{direction}: {message}" for message in _explain(result)]
    return Verdict(subject, f"repo {label}", not reasons, reasons)


def _explain(result: SchemaCompatibilityResult) -> list[str]:
    kinds = [kind.value for kind in result.incompatibilities]
    return [
        f"{kind} at {location} ({message})"
        for kind, location, message in zip(
            kinds, sorted(result.locations), sorted(result.messages), strict=False
        )
    ]


def _parse(schema: dict[str, Any]) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(schema))
