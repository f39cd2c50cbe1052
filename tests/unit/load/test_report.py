import json
from pathlib import Path

from keel.load.latency import LatencySummary
from keel.load.oracle import Verdict
from keel.load.report import Rate, RunSummary, TimelinePoint, write_report

_STABLE_KEYS = {
    "scenario",
    "ok",
    "rates",
    "jobs",
    "latency_ms",
    "oracle",
    "resources",
    "faults",
    "config",
    "versions",
    "timeline",
    "startup_ms",
}


def _summary(lost: int = 0) -> RunSummary:
    return RunSummary(
        scenario="noop",
        config={"jobs": 1000},
        versions={"keel": "0.1.0"},
        keel=Rate(1000, 0.5),
        baseline=Rate(1000, 0.4),
        latency=LatencySummary(1000, 1.0, 2.0, 3.0, 4.0, 5.0),
        verdict=Verdict(
            sent=1000,
            completed=1000 - lost,
            lost=lost,
            duplicates=0,
            order_violations=0,
            runs_out_of_order=0,
            runs_out_of_order_across_workers=0,
            overlaps=0,
            overlaps_across_workers=2,
            poison_sent=0,
            poison_missing=0,
            unexpected_dead_letters=0,
        ),
        timeline=[
            TimelinePoint(0.5, 500, 1000.0, 500, 2.5),
            TimelinePoint(1.0, 1000, 1000.0, 0, 3),
        ],
    )


def test_the_json_has_stable_keys_and_the_ratio(tmp_path: Path) -> None:
    write_report(_summary(), tmp_path)

    data = json.loads((tmp_path / "summary.json").read_text())

    assert set(data) == _STABLE_KEYS
    assert data["rates"] == {"keel_per_s": 2000.0, "baseline_per_s": 2500.0, "ratio": 0.8}
    assert data["ok"] is True


def test_with_the_status_cost_the_rate_with_status_and_its_ratio_are_reported(
    tmp_path: Path,
) -> None:
    summary = _summary()
    summary.keel_status = Rate(900, 0.5)
    write_report(summary, tmp_path)

    rates = json.loads((tmp_path / "summary.json").read_text())["rates"]
    assert (rates["keel_status_per_s"], rates["status_ratio"]) == (1800.0, 0.9)
    assert "| ratio with status / without | 0.9 |" in (tmp_path / "report.md").read_text()


def test_a_failed_oracle_shows_in_json_and_markdown(tmp_path: Path) -> None:
    write_report(_summary(lost=3), tmp_path)

    assert json.loads((tmp_path / "summary.json").read_text())["oracle"]["lost"] == 3
    report = (tmp_path / "report.md").read_text()
    assert "**FAIL**" in report
    assert "| lost | 3 |" in report


def test_the_overlaps_and_runs_out_of_order_are_reported(tmp_path: Path) -> None:
    write_report(_summary(), tmp_path)

    oracle = json.loads((tmp_path / "summary.json").read_text())["oracle"]
    report = (tmp_path / "report.md").read_text()
    assert (oracle["overlaps"], oracle["overlaps_across_workers"]) == (0, 2)
    assert (oracle["runs_out_of_order"], oracle["runs_out_of_order_across_workers"]) == (0, 0)
    assert "| overlaps_across_workers | 2 |" in report
    assert "| runs_out_of_order | 0 |" in report
    assert "**PASS**" in report  # overlaps across workers are shown, not failed


def test_plots_are_real_pngs(tmp_path: Path) -> None:
    written = write_report(_summary(), tmp_path)

    pngs = [p for p in written if p.suffix == ".png"]
    assert sorted(p.name for p in pngs) == ["lag.png", "latency.png", "throughput.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
