"""The artifact cache never takes a half-finished download as complete."""

import os
import stat
from pathlib import Path

import pytest

from keel.deploy.local.artifacts import KAFKA_VERSION, is_cached, kafka_jars
from keel.deploy.local.errors import DownloadError, MissingToolError


def _put_fake_mvn_on_path(monkeypatch: pytest.MonkeyPatch, bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(f"#!/bin/sh\n{script}\n")
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")


def test_unreachable_maven_central_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_fake_mvn_on_path(
        monkeypatch,
        tmp_path / "bin",
        'echo "Could not transfer artifact: repo.maven.apache.org: Unknown host" >&2; exit 1',
    )
    cache = tmp_path / "cache"

    with pytest.raises(DownloadError, match="Maven Central reachable") as failed:
        kafka_jars(cache)

    assert "Unknown host" in str(failed.value)
    assert list(cache.iterdir()) == []


def test_a_partial_directory_is_not_taken_as_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    partial = cache / f"kafka-{KAFKA_VERSION}"
    partial.mkdir(parents=True)
    (partial / "kafka-clients.jar").write_bytes(b"half")
    # A Maven that "succeeds" but writes only some jars: still not complete.
    _put_fake_mvn_on_path(monkeypatch, tmp_path / "bin", "exit 0")

    with pytest.raises(DownloadError, match="missing"):
        kafka_jars(cache)

    assert not is_cached(partial)


def test_no_maven_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(MissingToolError, match="apt-get install maven"):
        kafka_jars(tmp_path / "cache")
