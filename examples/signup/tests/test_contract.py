"""The committed models are what `keel schemas generate` makes of the committed `.avsc` files."""

import shutil
from pathlib import Path

from tests.cli import PROJECT, keel


def test_generated_models_are_up_to_date(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "avro", "signup"):
        copy = shutil.copytree if (PROJECT / name).is_dir() else shutil.copy
        copy(PROJECT / name, tmp_path / name)
    copied = tmp_path / "signup" / "jobs.py"

    output = keel("schemas", "generate", "--module", str(copied), cwd=tmp_path)

    assert "up to date" in output, "signup/jobs.py is stale: run `keel schemas generate`"
