"""examples/signup is a service like a user's: installed against keel, it passes its own tests.

keel is installed into a fresh venv the way a user installs it (built from this checkout into a
wheel, no extras), then the example with its test tools, editable as a developer works on a
service. The example's own pytest and mypy run there, with their own settings, against the
session's broker and registry.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "signup"
_INSTALL_TIMEOUT_S = 900


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=_INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def example_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding keel (a wheel built from this checkout) and the example service."""
    venv = tmp_path_factory.mktemp("example-venv")
    _run([sys.executable, "-m", "venv", str(venv)], REPO)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--upgrade", "pip>=25.1"], REPO)  # dependency groups: `pip install --group`
    _run([*pip, str(REPO)], REPO)
    _run([*pip, "-e", str(EXAMPLE), "--group", f"{EXAMPLE / 'pyproject.toml'}:test"], REPO)
    return venv


def _environment(venv: Path, cluster: Cluster) -> dict[str, str]:
    """This environment with keel's own settings left out, pointed at the session's cluster."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("KEEL_")}
    return {
        **kept,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": cluster.registry_url,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.mark.slow
@pytest.mark.timeout(_INSTALL_TIMEOUT_S + 300)
def test_the_example_passes_its_own_tests_against_the_broker(
    example_venv: Path, cluster: Cluster
) -> None:
    python = str(example_venv / "bin" / "python")

    output = _run([python, "-m", "pytest", "-q"], EXAMPLE, _environment(example_venv, cluster))

    assert " passed" in output
    assert "failed" not in output
    assert "skipped" not in output


@pytest.mark.slow
@pytest.mark.timeout(_INSTALL_TIMEOUT_S + 300)
def test_the_example_type_checks_against_the_installed_keel(
    example_venv: Path, cluster: Cluster
) -> None:
    python = str(example_venv / "bin" / "python")

    output = _run([python, "-m", "mypy"], EXAMPLE, _environment(example_venv, cluster))

    assert output.startswith("Success")
