"""`keel load run --scenario soak`: a long live round at a steady rate, sampled as it goes.

calibrate   (unless --rate is given) a short flat-out live round on its own topic: the rate
            the workers reach is the maximum; the soak runs at half of it
soak        one live round of `rate x duration` jobs from the open-loop producer, real worker
            processes, sampled every `sample_every_s`: each worker's RSS and CPU, the group's
            lag, the p99 of each window; judged by the oracle like any live round
buffered    one worker holding `buffered` records (a handler that never finishes, a backlog):
            its RSS, the other half of the memory target
"""

import json
from dataclasses import dataclass
from pathlib import Path

from keel.load.buffered_memory import BufferedMemory, measure_buffered_memory
from keel.load.config import RunConfig
from keel.load.rounds import LiveResult, Progress, live_round
from keel.load.topics import run_topic
from keel.schemas.settings import ClusterSettings

CALIBRATION_JOBS = 30_000
BUFFERED_TARGET = 10_000


@dataclass(frozen=True)
class SoakRun:
    """What the soak measured, before it is summarised (`keel.load.soak_report`)."""

    config: RunConfig
    calibrated_max_per_s: float | None
    live: LiveResult
    buffered: BufferedMemory | None


def run_soak(
    config: RunConfig,
    cluster: ClusterSettings,
    out: Path,
    *,
    progress: Progress,
    calibration_jobs: int = CALIBRATION_JOBS,
    buffered: int = BUFFERED_TARGET,
) -> SoakRun:
    """Calibrate (when `config.rate` is 0), soak for `config.duration_s`, fill a buffer."""
    if config.duration_s <= 0:
        raise ValueError("a soak needs a duration (--duration)")
    calibrated = None
    rate = config.rate
    if rate <= 0:
        calibrated = calibrate(config, cluster, out, progress, calibration_jobs)
        rate = calibrated / 2
        out.mkdir(parents=True, exist_ok=True)
        found = {"calibrated_max_per_s": calibrated, "soak_rate": rate}
        (out / "calibration.json").write_text(json.dumps(found) + "\n")
    soak = config.with_overrides(rate=rate, jobs=max(1, round(rate * config.duration_s)))
    progress.phase(f"soak at {rate:,.0f}/s for {config.duration_s:g} s")
    with run_topic(cluster, soak) as topic:
        live = live_round(soak, cluster, topic, out / "soak", progress=progress)
    held = None
    if buffered > 0:
        progress.phase(f"one worker holding {buffered:,} records")
        with run_topic(cluster, config.with_overrides(scenario="buffered")) as backlog:
            held = measure_buffered_memory(cluster, backlog, out, buffered)
    return SoakRun(soak, calibrated, live, held)


def calibrate(
    config: RunConfig, cluster: ClusterSettings, out: Path, progress: Progress, jobs: int
) -> float:
    """The rate the workers reach on `jobs` sent flat out (jobs/s); fails if the oracle does."""
    flat_out = config.with_overrides(
        scenario="calibration", rate=0.0, jobs=jobs, sample_every_s=0.5
    )
    progress.phase("calibration: flat out")
    with run_topic(cluster, flat_out) as topic:
        live = live_round(flat_out, cluster, topic, out / "calibration", progress=progress)
    if not live.verdict.ok or live.rate.per_s <= 0:
        raise RuntimeError(f"the calibration round failed: {live.verdict.examples}")
    return live.rate.per_s
