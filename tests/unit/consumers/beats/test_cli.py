"""`keel workers`: a table of the workers read, or JSON, from what `read_workers` returns."""

import json

import pytest
from typer.testing import CliRunner

from keel.cli import app
from keel.consumers.beats import cli
from keel.consumers.beats.beat import Beat, Counts, WorkerId
from keel.consumers.beats.reader import WorkerView

runner = CliRunner()
BEAT = Beat(
    WorkerId("billing", "pod-a", 11, 0),
    0.0,
    5.0,
    running=3,
    buffered=40,
    partitions=(("jobs", 0), ("jobs", 3)),
    now=Counts(110.0, {"processed": 500, "failed": 2, "retried": 4, "dead_lettered": 2}),
    before=Counts(100.0, {"processed": 300, "failed": 0, "retried": 4, "dead_lettered": 0}),
)
GONE = WorkerView(
    Beat(WorkerId("billing", "pod-b", 12), 0.0, 5.0, 0, 0, (), Counts(50.0, {"processed": 9})),
    60.0,
    "gone",
)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    groups: list[str | None] = []

    def read(_cluster: object, group: str | None = None) -> list[WorkerView]:
        groups.append(group)
        return [WorkerView(BEAT, 1.2, "live"), GONE]

    monkeypatch.setattr(cli, "read_workers", read)
    return groups


def test_the_table_shows_each_worker_with_its_counts_rates_and_partitions(
    asked: list[str | None],
) -> None:
    result = runner.invoke(app, ["workers", "--group", "billing"])

    assert result.exit_code == 0, result.output
    header, live, gone = result.output.splitlines()
    assert header.split() == cli._COLUMNS.split()
    assert live.split() == [
        *("billing", "pod-a:11#0", "live", "1s", "3", "40"),
        *("20.0", "0.2", "0.2", "500", "jobs[0],jobs[3]"),
    ]
    assert gone.split()[1:4] == ["pod-b:12", "gone", "60s"]
    assert asked == ["billing"]


def test_json_lists_every_field_for_scripts(asked: list[str | None]) -> None:
    result = runner.invoke(app, ["workers", "--json"])

    assert result.exit_code == 0, result.output
    live, gone = json.loads(result.output)
    assert live["id"] == "pod-a:11#0"
    assert live["partitions"] == [["jobs", 0], ["jobs", 3]]
    assert live["rates"] == {
        "processed": 20.0,
        "failed": 0.2,
        "retried": 0.0,
        "dead_lettered": 0.2,
    }
    assert (gone["state"], gone["child"], gone["counts"]) == ("gone", None, {"processed": 9})
    assert asked == [None]


def test_no_workers_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "read_workers", lambda _cluster, group=None: [])
    result = runner.invoke(app, ["workers", "--group", "idle"])
    assert (result.exit_code, result.output) == (0, "no workers in group idle\n")
