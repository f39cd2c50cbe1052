"""keel installed the way its users get it: the wheel of this checkout in a fresh virtualenv.

Both steps follow deploy/Dockerfile's build stage. The wheel is built from a copy of the files
its COPY instructions bring into /src, so a file the image's build context lacks fails here too.
The virtualenv is filled as the image's: every pin of deploy/requirements.lock (hashes required,
no resolution), then the wheel with `--no-deps`. This session's pip does the installing into the
new interpreter (`pip --python`), so the pip cache serves what it already holds; anything
missing still comes from PyPI.
"""

import re
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
LOCK = REPO / "deploy" / "requirements.lock"
_COPY = re.compile(r"^COPY\s+(?!--)(.+)\s+(\.\S*)$", re.MULTILINE)  # into the WORKDIR, /src
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


def image_sources(into: Path) -> Path:
    """The Dockerfile's build stage's /src: what its COPY instructions bring, links kept."""
    copies = _COPY.findall(DOCKERFILE.read_text())
    assert copies, "deploy/Dockerfile copies nothing into its WORKDIR"
    for sources, destination in copies:
        for source in sources.split():
            target = into / destination / (Path(source).name if destination == "./" else "")
            if (REPO / source).is_dir():
                skip = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(REPO / source, target, symlinks=True, ignore=skip)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / source, target)
    return into


def build_wheel(sources: Path, into: Path) -> Path:
    """The wheel of `sources`, built as the image builds it: hatchling, no isolated env."""
    command = [*_PIP, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(into)]
    _run([*command, str(sources)])
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
