"""The demo's routes: stated once in `keel.producers.demo`, and what everything that runs the
demo sets as `KEEL_ROUTES`; without them `keel demo` and `keel topics ensure` say what to set."""

import json
import re

import pytest
from typer.testing import CliRunner

from keel.cli import app
from keel.producers.demo import DEMO_ROUTES, demo_routes_json, unrouted_demo_jobs
from keel.producers.settings import ProducerSettings, Route
from keel.schemas.demo import demo_catalog
from tests.support.deploy import REPO

runner = CliRunner()


@pytest.fixture
def no_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_ROUTES", raising=False)


def test_demo_routes_route_every_demo_job() -> None:
    assert set(DEMO_ROUTES) == set(demo_catalog().names)
    assert DEMO_ROUTES["keel.jobs.GenerateReport"] == Route(topic="jobs.reports", partitions=3)


def test_demo_routes_json_is_a_keel_routes_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_ROUTES", demo_routes_json())

    settings = ProducerSettings()

    assert settings.routes == DEMO_ROUTES
    assert unrouted_demo_jobs(settings) == []


def test_make_run_sets_the_demo_routes() -> None:
    makefile = (REPO / "Makefile").read_text()
    line = re.search(r"^DEMO_ROUTES := (.+)$", makefile, re.MULTILINE)
    assert line is not None
    assert ProducerSettings(routes=json.loads(line[1])).routes == DEMO_ROUTES
    assert "run: export KEEL_ROUTES = $(DEMO_ROUTES)" in makefile


@pytest.mark.usefixtures("no_routes")
def test_topics_ensure_without_routes_says_how_to_set_them() -> None:
    result = runner.invoke(app, ["topics", "ensure"])

    assert result.exit_code == 2
    assert "no routes" in result.stderr
    assert "KEEL_ROUTES='{" in result.stderr
    assert result.stdout == ""


@pytest.mark.usefixtures("no_routes")
def test_demo_without_routes_prints_the_demo_routes_and_publishes_nothing() -> None:
    result = runner.invoke(app, ["demo", "--jobs", "1"])

    assert result.exit_code == 2
    assert "no route for keel.jobs.GenerateReport, keel.jobs.ProcessPayment" in result.stderr
    assert f"KEEL_ROUTES='{demo_routes_json()}'" in result.stderr


@pytest.mark.parametrize("doc", ["README.md", "docs/worker.md"])
def test_docs_show_the_demo_routes(doc: str) -> None:
    shown = re.findall(r"KEEL_ROUTES='(\{\"keel\.jobs\..+\})'", (REPO / doc).read_text())
    assert shown, f"{doc} shows no KEEL_ROUTES for the demo"
    for value in shown:
        assert ProducerSettings(routes=json.loads(value)).routes == DEMO_ROUTES
