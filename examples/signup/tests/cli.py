"""The `keel` command, as the service's deploy steps and CI run it."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# The `keel` command installed beside this Python.
KEEL = str(Path(sys.executable).with_name("keel"))


def keel(*arguments: str, env: dict[str, str] | None = None, cwd: Path = PROJECT) -> str:
    """Run one `keel` command; its output, or a failure that shows what it said."""
    done = subprocess.run(
        [KEEL, *arguments],
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"keel {' '.join(arguments)}:\n{done.stdout}{done.stderr}"
    return done.stdout
