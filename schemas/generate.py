"""Job models generated from the Avro contract: `keel schemas generate`.

The `.avsc` files in `schemas/avro/` are the one source of truth. dataclasses-avroschema's model
generator turns them into pydantic models; three small rewrites then make its output fit keel:

- the models derive from `keel.schemas.job.Job` (frozen, unknown fields refused) instead of the
  library's `AvroBaseModel`, which `Job` itself extends, so `avro_schema()` still works;
- a decimal's precision and scale also become pydantic constraints, so an amount with too many
  digits fails validation before anything is sent, and the annotation is a static type mypy
  understands instead of a call; the generator drops a decimal field's doc, so it is put back;
- ruff fixes imports and modern typing syntax and formats the module like the rest of the code.

The result is committed as `schemas/jobs.py`; a test renders it again and compares, so the
module cannot drift from the files.
"""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from dataclasses_avroschema import ModelGenerator, ModelType

PACKAGE_DIR = Path(__file__).resolve().parent
AVRO_DIR = PACKAGE_DIR / "avro"
MODULE_PATH = PACKAGE_DIR / "jobs.py"
_RUFF_RULES = "I,UP,F401"

_HEADER = '''"""The reference job models, generated from `schemas/avro/*.avsc`: do not edit by hand.

Change the `.avsc` file, then run `keel schemas generate`.
"""

'''
_DECIMAL = re.compile(
    r"^(?P<indent>\s+)(?P<field>\w+): "
    r"types\.condecimal\(max_digits=(?P<digits>\d+), decimal_places=(?P<places>\d+)\)$",
    re.MULTILINE,
)


def load_schemas(directory: Path = AVRO_DIR) -> list[dict[str, Any]]:
    """The current schema of every job type in `directory`, in file-name order."""
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.avsc"))]


def render(schemas: list[dict[str, Any]]) -> str:
    """The Python module for `schemas`, formatted, as `keel schemas generate` writes it."""
    code = ModelGenerator().render_module(schemas=schemas, model_type=ModelType.AVRODANTIC.value)
    return _format(_HEADER + _adapt(code, _docs(schemas)))


def generate(directory: Path = AVRO_DIR, target: Path = MODULE_PATH) -> bool:
    """Write the models for `directory` to `target`; True when the file changed."""
    code = render(load_schemas(directory))
    if target.exists() and target.read_text() == code:
        return False
    target.write_text(code)
    return True


def _adapt(code: str, docs: dict[tuple[str, str], str]) -> str:
    code = code.replace(
        "from dataclasses_avroschema.pydantic import AvroBaseModel",
        "from keel.schemas.job import Job",
    )
    blocks = [_decimals(block, docs) for block in code.split("\nclass ")]
    code = "\nclass ".join(blocks).replace("(AvroBaseModel):", "(Job):")
    return "import decimal\n" + code if "decimal.Decimal" in code else code


def _decimals(block: str, docs: dict[tuple[str, str], str]) -> str:
    """One class block with its decimal annotations rewritten."""
    record = block.split("(", 1)[0]
    return _DECIMAL.sub(lambda found: _decimal(found, record, docs), block)


def _decimal(found: re.Match[str], record: str, docs: dict[tuple[str, str], str]) -> str:
    digits, places = found["digits"], found["places"]
    doc = docs.get((record, found["field"]))
    description = f", description={doc!r}" if doc else ""
    return (
        f"{found['indent']}{found['field']}: typing.Annotated[decimal.Decimal, "
        f"types.DecimalFieldInfo(max_digits={digits}, decimal_places={places}), "
        f"pydantic.Field(max_digits={digits}, decimal_places={places}{description})]"
    )


def _docs(schemas: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """Field docs by (record name, field name)."""
    return {
        (schema["name"], field["name"]): field["doc"]
        for schema in schemas
        for field in schema.get("fields", [])
        if "doc" in field
    }


def _format(code: str) -> str:
    # Imported here: ruff is a development tool, needed only when the models are regenerated.
    from ruff.__main__ import find_ruff_bin  # noqa: PLC0415

    ruff = str(find_ruff_bin())
    stdin_name = str(MODULE_PATH.relative_to(PACKAGE_DIR.parent))
    fixed = _run(
        [ruff, "check", "--fix-only", "--select", _RUFF_RULES, "--stdin-filename", stdin_name],
        code,
    )
    return _run([ruff, "format", "--stdin-filename", stdin_name], fixed)


def _run(command: list[str], stdin: str) -> str:
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, check=True, cwd=PACKAGE_DIR.parent
    )
    return done.stdout
