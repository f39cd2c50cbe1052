"""keel installed the way its users get it: the wheel of this checkout in a fresh virtualenv.

The virtualenv is filled as deploy/Dockerfile fills the image's: every pin of
deploy/requirements.lock (hashes required, no resolution), then the wheel with `--no-deps`. This
session's pip does the installing into the new interpreter (`pip --python`), so the pip cache
serves what it already holds; anything missing still comes from PyPI.
"""

import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "deploy" / "requirements.lock"
_PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")


@dataclass(frozen=True)
class Installed:
    """A virtualenv holding keel's wheel and the locked core dependencies, nothing else."""

    root: Path
    wheel: Path

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        """This session's pip, acting on the virtualenv's interpreter."""
        return _run([*_PIP, "--python", str(self.bin("python")), *args])


def build_wheel(into: Path) -> Path:
    """The wheel of this checkout, built with the pinned-in-the-venv hatchling (no isolation)."""
    _run([*_PIP, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(into), str(REPO)])
    (wheel,) = into.glob("*.whl")
    return wheel


def install_like_the_image(wheel: Path, root: Path) -> Installed:
    """A fresh virtualenv, filled in the Dockerfile's two steps."""
    venv.create(root, with_pip=False)
    installed = Installed(root, wheel)
    installed.pip("install", "--quiet", "--require-hashes", "--no-deps", "-r", str(LOCK))
    installed.pip("install", "--quiet", "--no-deps", str(wheel))
    return installed


def top_level_names(wheel: Path) -> set[str]:
    """The first path component of every file in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/", 1)[0] for name in archive.namelist()}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done
