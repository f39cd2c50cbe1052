"""The root command: its version, and command groups that need an extra."""

from importlib import metadata

import pytest
import typer
from typer.testing import CliRunner

from keel._version import __version__
from keel.cli import app
from keel.extras import DISTRIBUTION, MissingExtraError, OptionalGroup

_ABSENT = "keel_test_absent_package"


def test_version_is_the_installed_distribution_version() -> None:
    shown = CliRunner().invoke(app, ["--version"])

    assert shown.exit_code == 0
    assert shown.output == f"keel {__version__}\n"
    assert metadata.version(DISTRIBUTION) == __version__


def test_a_group_of_a_missing_extra_names_the_extra_and_how_to_install_it() -> None:
    group = OptionalGroup(f"{_ABSENT}.cli:app", "load", frozenset({_ABSENT}), "Load tests.")

    with pytest.raises(MissingExtraError) as missing:
        group.load("load")

    assert str(missing.value) == "keel load needs the 'load' extra: pip install 'keel-jobs[load]'"


def test_a_missing_module_outside_the_extra_is_a_plain_import_error() -> None:
    group = OptionalGroup(f"{_ABSENT}.cli:app", "load", frozenset({"hdrh"}), "Load tests.")

    with pytest.raises(ModuleNotFoundError, match=_ABSENT):
        group.load("load")


def test_an_installed_group_loads_its_typer() -> None:
    group = OptionalGroup("keel.load.cli:load_app", "load", frozenset({"hdrh"}), "Load tests.")

    assert isinstance(group.load("load"), typer.Typer)


def test_the_root_help_names_the_extra_of_each_optional_group() -> None:
    shown = CliRunner().invoke(app, ["--help"])

    assert shown.exit_code == 0
    assert "(the 'load' extra)" in shown.output
