"""The soak's report: targets judged from the samples, the Markdown, the plot, the raw samples."""

import json
from pathlib import Path

from keel.load.buffered_memory import BufferedMemory
from keel.load.config import SCENARIOS
from keel.load.latency import LatencyRecorder
from keel.load.oracle import Verdict
from keel.load.report import Rate, TimelinePoint
from keel.load.resources import ProcessSample
from keel.load.rounds import LiveResult
from keel.load.sent import SentLedger
from keel.load.soak import SoakRun
from keel.load.soak_report import headline, soak_summary, write_soak


def _verdict() -> Verdict:
    return Verdict(
        sent=1000,
        completed=1000,
        lost=0,
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


def _run(end_rss: float, buffered_rss: float = 150.0) -> SoakRun:
    # A 100 s soak sampled every 5 s from 10 s (workers ready): warm-up ends at 5 + 20 = 25 s.
    config = SCENARIOS["soak"].with_overrides(duration_s=100.0, rate=10.0, jobs=1000)
    times = [10.0 + 5 * i for i in range(20)]
    rss = [100.0] * 17 + [end_rss] * 3
    live = LiveResult(
        sent=SentLedger(),
        verdict=_verdict(),
        latency=LatencyRecorder(),
        rate=Rate(1000, 100.0),
        timeline=[TimelinePoint(t, i * 50, 10.0, 5, 12.0) for i, t in enumerate(times)],
        resources={},
        faults=[],
        startup={},
        resource_samples=[ProcessSample(t, 42, 30.0, r) for t, r in zip(times, rss, strict=True)],
    )
    return SoakRun(config, 20.0, live, BufferedMemory(10_000, 10_400, buffered_rss, 3.0))


def test_flat_memory_meets_the_targets() -> None:
    summary = soak_summary(_run(end_rss=104.0))

    assert summary["warm_up_s"] == 25.0
    assert summary["targets"] == {
        "rss_growth_pct": 4.0,
        "rss_growth_ok": True,
        "rss_max_mb": 104.0,
        "rss_max_ok": True,
        "buffered_rss_ok": True,
    }
    assert summary["workers"][0]["growth_pct"] == 4.0
    assert summary["lag"]["slope_per_min"] == 0.0


def test_growth_past_ten_percent_and_a_full_buffer_past_200_mb_are_missed(tmp_path: Path) -> None:
    report = write_soak(_run(end_rss=120.0, buffered_rss=250.0), tmp_path)

    text = report.read_text()
    assert "| RSS growth after warm-up (worst worker) | 20.0 % | < 10 % (**missed**) |" in text
    assert "| RSS with 10,400 records buffered | 250.0 MB | <= 200 MB (**missed**) |" in text
    assert "| max RSS (any worker) | 120.0 MB | <= 200 MB (met) |" in text
    data = json.loads((tmp_path / "soak.json").read_text())
    assert len(data["resource_samples"]) == 20
    assert len(data["timeline"]) == 20
    assert (tmp_path / "soak.png").read_bytes().startswith(b"\x89PNG")


def test_the_headline_names_the_figures_and_the_verdict() -> None:
    line = headline(soak_summary(_run(end_rss=100.0)))

    assert line.startswith("PASS soak at 10/s for 100 s: RSS growth 0.0 %, max 100.0 MB")
    assert "10,400 buffered: 150.0 MB" in line
