"""`module:attribute` names, as `keel worker` and `keel scheduler run` take them."""

import importlib
import itertools
import sys
from pathlib import Path

import pytest

from keel.consumers.app import App
from keel.producers.loading import load_target

_names = itertools.count()


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A service's folder as the working directory; sys.path and sys.modules restored after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in {"", "."}])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    return tmp_path


def _module(folder: Path, text: str) -> str:
    name = f"service_jobs_{next(_names)}"
    (folder / f"{name}.py").write_text(text)
    importlib.invalidate_caches()  # the finder of "." may still list another test's folder
    return name


def test_finds_the_app_in_a_module_of_the_working_directory(service: Path) -> None:
    name = _module(service, "from keel import App\napp = App('billing')\n")

    found = load_target(f"{name}:app", App)

    assert found.name == "billing"


def test_follows_a_dotted_attribute(service: Path) -> None:
    name = _module(service, "from keel import App\nclass jobs:\n    app = App('billing')\n")

    assert load_target(f"{name}:jobs.app", App).name == "billing"


@pytest.mark.parametrize("target", ["jobs", "jobs:", ":app", "my-service:app", "jobs:1app"])
def test_a_malformed_name_says_what_is_expected(service: Path, target: str) -> None:
    with pytest.raises(ValueError, match=r"expected module:attribute, e\.g\. myservice\.jobs:app"):
        load_target(target, App)


def test_a_missing_attribute_is_named(service: Path) -> None:
    name = _module(service, "app = None\n")

    with pytest.raises(TypeError, match=f"{name} has no attribute 'worker'"):
        load_target(f"{name}:worker", App)


def test_an_attribute_of_another_kind_is_refused(service: Path) -> None:
    name = _module(service, "app = 'not an app'\n")

    with pytest.raises(TypeError, match=r"is not a keel\.consumers\.app\.App"):
        load_target(f"{name}:app", App)


def test_an_error_inside_the_module_is_its_own(service: Path) -> None:
    name = _module(service, "import os\nos.no_such_function()\n")

    with pytest.raises(AttributeError, match="no_such_function"):
        load_target(f"{name}:app", App)


def test_a_missing_module_raises_the_import_error(service: Path) -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_service"):
        load_target("no_such_service.jobs:app", App)
