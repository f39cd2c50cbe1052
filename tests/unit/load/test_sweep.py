"""The latency sweep's report: a row per rate, the plot, and the oracle's verdict of each."""

import json
from pathlib import Path

from keel.load.config import SCENARIOS
from keel.load.latency import LatencySummary
from keel.load.oracle import Verdict
from keel.load.sweep import PLOT, SweepStep, headline, write_sweep


def _verdict(lost: int = 0) -> Verdict:
    return Verdict(
        sent=100,
        completed=100 - lost,
        lost=lost,
        duplicates=0,
        order_violations=0,
        runs_out_of_order=0,
        runs_out_of_order_across_workers=0,
        overlaps=0,
        overlaps_across_workers=0,
        poison_sent=0,
        poison_missing=0,
        unexpected_dead_letters=0,
    )


def _step(rate: float, p99: float, lost: int = 0) -> SweepStep:
    latency = LatencySummary(100, p99 / 4, p99 / 2, p99, p99 * 2, p99 * 3)
    startup = {"first_publish_ms": 12.5, "first_job_ms": 4.25}
    return SweepStep(rate, rate * 0.99, latency, _verdict(lost), startup)


def test_each_rate_is_a_row_with_its_percentiles_and_the_plot_is_written(tmp_path: Path) -> None:
    steps = [_step(1000, 8.0), _step(8000, 40.0)]
    report = write_sweep(steps, SCENARIOS["latency"], tmp_path)

    text = report.read_text()
    assert "| 1,000/s | 990/s | 2.0 ms | 4.0 ms | 8.0 ms | 16.0 ms | 24.0 ms |" in text
    assert "| 8,000/s | 7,920/s | 10.0 ms | 20.0 ms | 40.0 ms | 80.0 ms | 120.0 ms |" in text
    assert (tmp_path / PLOT).read_bytes().startswith(b"\x89PNG")
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert [s["latency_ms"]["p99_ms"] for s in data["steps"]] == [8.0, 40.0]
    assert data["steps"][0]["startup_ms"] == {"first_publish_ms": 12.5, "first_job_ms": 4.25}


def test_a_rate_whose_oracle_failed_says_so() -> None:
    lines = headline([_step(1000, 8.0), _step(8000, 40.0, lost=3)]).splitlines()
    assert lines[0].startswith("PASS 1,000/s")
    assert lines[1].startswith("FAIL 8,000/s")


def test_the_latency_scenario_sweeps_from_below_to_above_the_targets_rates() -> None:
    config = SCENARIOS["latency"]
    assert min(config.rates) <= 1_000
    assert max(config.rates) >= 8_000
    assert config.step_seconds >= 60  # the targets are over at least 60 s
