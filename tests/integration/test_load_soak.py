"""`keel load run --scenario soak` for a few seconds: the report's figures, its plot, the oracle."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keel.cli import build
from keel.load.config import SCENARIOS
from keel.load.rounds import NoProgress
from keel.load.soak import run_soak
from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow

runner = CliRunner()
_RATE = 200
_SECONDS = 20


def test_a_short_soak_reports_memory_lag_and_tail_over_time_and_passes_the_oracle(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", cluster.registry_url)

    result = runner.invoke(
        build("load"),
        ["load", "run", "--scenario", "soak", "--duration", f"{_SECONDS}s",
         "--rate", str(_RATE), "--partitions", "4", "--out", str(tmp_path)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.glob("soak-*")
    soak = json.loads((folder / "soak.json").read_text())
    # Then every job ran once, in per-key order, with nothing lost
    assert soak["ok"] is True
    assert soak["oracle"]["sent"] == _RATE * _SECONDS
    assert soak["oracle"]["completed"] == _RATE * _SECONDS
    assert soak["oracle"]["lost"] == soak["oracle"]["order_violations"] == 0
    # and the one worker was sampled over time, its memory summarised against the targets
    (worker,) = soak["workers"]
    assert worker["samples"] >= 2
    assert 0 < worker["rss_after_warm_up_mb"] <= worker["rss_max_mb"]
    assert soak["targets"]["rss_max_mb"] == pytest.approx(worker["rss_max_mb"], abs=0.1)
    assert len({s["pid"] for s in soak["resource_samples"]}) == 1
    assert len(soak["timeline"]) >= 2
    assert soak["p99_windows"]["windows"] >= 1
    assert set(soak["lag"]) == {"after_warm_up", "end", "max", "slope_per_min"}
    # and a second worker held at least 10,000 records while its RSS was read
    assert soak["buffered"]["held"] >= soak["buffered"]["target"] == 10_000
    assert soak["buffered"]["rss_mb"] > 0
    assert (folder / "soak.png").read_bytes().startswith(b"\x89PNG")
    assert "](soak.png)" in (folder / "soak.md").read_text()
    assert "PASS soak at 200/s" in result.output


def test_without_a_rate_the_soak_runs_at_half_the_rate_a_flat_out_round_reached(
    cluster: Cluster, tmp_path: Path
) -> None:
    config = SCENARIOS["soak"].with_overrides(duration_s=3.0, partitions=4, sample_every_s=1.0)

    soak = run_soak(
        config,
        cluster.settings(),
        tmp_path,
        progress=NoProgress(),
        calibration_jobs=3000,
        buffered=0,
    )

    assert soak.calibrated_max_per_s is not None
    assert soak.calibrated_max_per_s > 0
    assert soak.config.rate == soak.calibrated_max_per_s / 2
    assert soak.config.jobs == max(1, round(soak.config.rate * 3.0))
    assert soak.live.verdict.ok, soak.live.verdict.examples
    assert soak.live.verdict.completed == soak.config.jobs
    assert soak.buffered is None
    written = json.loads((tmp_path / "calibration.json").read_text())
    assert written["soak_rate"] == soak.config.rate
