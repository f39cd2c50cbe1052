"""`keel load run` and `keel bench`: measurements on the real broker, as JSON or a line."""

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from keel.consumers import collector
from keel.consumers.settings import WorkerSettings
from keel.deploy.local import LocalStack, LocalStackSettings
from keel.load.bench import run_publish_bench
from keel.load.config import SCENARIOS, RunConfig
from keel.load.durations import parse_duration
from keel.load.faults import Fault
from keel.load.keys import Skew
from keel.load.priority_latency import PriorityBench, run_priority_latency
from keel.load.priority_latency import headline as priority_headline
from keel.load.publish_latency import run_publish_latency
from keel.load.report import write_report
from keel.load.run import run_load
from keel.load.soak import run_soak
from keel.load.soak_report import headline as soak_headline
from keel.load.soak_report import soak_summary, write_soak
from keel.load.sweep import headline, run_sweep, write_sweep
from keel.schemas.settings import ClusterSettings

HARNESS_GC_THRESHOLD = 10_000  # as `gc_threshold` of `keel worker`

load_app = typer.Typer(help="Load tests against a real broker: throughput, latency, correctness.")
bench_app = typer.Typer(help="Benchmarks against the configured cluster.", no_args_is_help=True)


@bench_app.command("publish")
def publish(
    jobs: int = typer.Option(100_000, min=1, max=1_000_000, help="Jobs per round and path."),
    rounds: int = typer.Option(3, min=1, max=10, help="Rounds per path, interleaved."),
    partitions: int = typer.Option(12, min=1, max=64, help="Partitions of the bench topic."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Typed publishing (validate + encode + produce) against raw confluent-kafka, same settings."""
    result = run_publish_bench(ClusterSettings(), jobs, rounds, partitions)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(
        f"typed {result.typed_per_s:,.0f}/s  raw {result.raw_per_s:,.0f}/s  "
        f"ratio {result.ratio:.2f}  (raw fire-and-forget "
        f"{result.raw_fire_and_forget_per_s:,.0f}/s, ratio {result.ratio_vs_fire_and_forget:.2f}; "
        f"stock AvroSerializer {result.stock_per_s:,.0f}/s, typed/stock "
        f"{result.ratio_vs_stock:.2f}; "
        f"{jobs:,} jobs x {rounds} rounds, {partitions} partitions)\n"
        f"CPU of the calling thread per job: typed {result.typed_cpu_us:.2f} µs, raw "
        f"{result.raw_cpu_us:.2f} µs, stock {result.stock_cpu_us:.2f} µs (stock/typed "
        f"{result.cpu_ratio_vs_stock:.2f}, raw/typed {result.cpu_ratio:.2f})"
    )


@bench_app.command("publish-latency")
def publish_latency(
    rate: float = typer.Option(1000.0, min=1, max=50_000, help="Publishes per second."),
    seconds: float = typer.Option(30.0, min=1, max=3600, help="Measured seconds (after 2 s)."),
    partitions: int = typer.Option(12, min=1, max=64, help="Partitions of the bench topic."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """`await publish()` latency at a steady rate: what a web endpoint pays per job."""
    result = run_publish_latency(ClusterSettings(), rate, seconds, partitions)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    call = "  ".join(f"{name} {ms:.1f}" for name, ms in result.call_ms.items())
    typer.echo(
        f"await publish() at {result.achieved_per_s:,.0f}/s, ms: {call}  "
        f"(first publish {result.first_publish_ms:.1f} ms after opening in "
        f"{result.open_ms:.0f} ms; {result.publishes:,} publishes)"
    )


@bench_app.command("priority")
def priority_latency(
    *,
    backlog: int = typer.Option(50_000, min=0, help="Low-priority jobs published first."),
    probes: int = typer.Option(200, min=1, help="High-priority probes per round."),
    handler_ms: float = typer.Option(20.0, min=0, help="How long each job's handler takes."),
    max_in_flight: int = typer.Option(50, min=1, help="The worker's handler slots."),
    partitions: int = typer.Option(6, min=1, max=64, help="Partitions of each lane topic."),
    lane_reserve: Annotated[
        list[int] | None,
        typer.Option(
            "--lane-reserve",
            min=0,
            help="The worker's slots reserved for the high lane; repeat it to compare several "
            "in interleaved runs (default: the worker's own default).",
        ),
    ] = None,
    runs: int = typer.Option(1, min=1, help="Runs of each --lane-reserve, interleaved."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Pickup latency of high-priority jobs behind a low-priority backlog, and on an idle worker."""
    collector.tune(WorkerSettings().gc_threshold)  # the worker's collector, as `keel worker`'s
    bench = PriorityBench(backlog, probes, 0.05, handler_ms, max_in_flight, partitions)
    results = []
    for _ in range(runs):
        reserves: list[int | None] = [*lane_reserve] if lane_reserve else [None]
        for reserve in reserves:
            result = run_priority_latency(ClusterSettings(), replace(bench, lane_reserve=reserve))
            results.append(result.to_dict())
            if not as_json:
                typer.echo(priority_headline(result))
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))


class _Bar:
    """The rounds' progress shown as one rich bar whose label is the current phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("preparing", total=None)

    def phase(self, name: str, total: int | None = None) -> None:
        self._progress.reset(self._task, description=name, total=total)

    def advance(self, amount: int) -> None:
        self._progress.advance(self._task, amount)


@load_app.command()
def run(
    *,
    scenario: Annotated[str, typer.Option(help=f"One of: {', '.join(SCENARIOS)}")] = "noop",
    jobs: Annotated[int | None, typer.Option(help="Jobs to produce.")] = None,
    rate: Annotated[float | None, typer.Option(help="Jobs/s to aim at; 0: flat out.")] = None,
    keys: Annotated[int | None, typer.Option(help="Distinct keys.")] = None,
    skew: Annotated[Skew | None, typer.Option(help="Key distribution.")] = None,
    partitions: Annotated[int | None, typer.Option()] = None,
    payload_bytes: Annotated[int | None, typer.Option()] = None,
    sleep_ms: Annotated[float | None, typer.Option(help="I/O-bound handler time.")] = None,
    cpu_ms: Annotated[float | None, typer.Option(help="CPU-bound handler time.")] = None,
    failure_rate: Annotated[float | None, typer.Option(help="Jobs failing once.")] = None,
    poison_rate: Annotated[float | None, typer.Option(help="Records that are poison.")] = None,
    max_in_flight: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    rounds: Annotated[int | None, typer.Option(help="Replay rounds of keel and baseline.")] = None,
    fault: Annotated[Fault | None, typer.Option(help="Fault to inject while producing.")] = None,
    rates: Annotated[
        str | None, typer.Option(help="Latency sweep: rates to run, e.g. 500,1000,8000.")
    ] = None,
    step_seconds: Annotated[
        float | None, typer.Option(help="Latency sweep: seconds at each rate.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Soak: how long to produce, e.g. 30m, 20s.")
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="Workers record every job's status (docs/status.md).")
    ] = False,
    status_cost: Annotated[
        bool,
        typer.Option(
            "--status-cost",
            help="Replay rounds run keel with every job's status and without, alternated.",
        ),
    ] = False,
    keep_topics: Annotated[
        bool,
        typer.Option(
            "--keep-topics",
            help="Leave the run's topics, quarantine topics and groups on the broker.",
        ),
    ] = False,
    out: Annotated[Path, typer.Option(help="Folder for the report.")] = Path("load-results"),
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json.")] = False,
) -> None:
    """Run a scenario; exits 1 when the oracle finds a lost, reordered or misplaced job.

    The run deletes the topics and consumer groups it made when it ends (see keel.load.topics),
    unless --keep-topics.
    """
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {scenario!r}; choose from {list(SCENARIOS)}")
    config = SCENARIOS[scenario].with_overrides(
        jobs=jobs, rate=rate, keys=keys, skew=skew, partitions=partitions,
        payload_bytes=payload_bytes, sleep_ms=sleep_ms, cpu_ms=cpu_ms,
        failure_rate=failure_rate, poison_rate=poison_rate, max_in_flight=max_in_flight,
        workers=workers, rounds=rounds, fault=fault, step_seconds=step_seconds,
        rates=_rates(rates), duration_s=_duration(duration), status=status or None,
        status_cost=status_cost or None, keep_topics=keep_topics or None,
    )  # fmt: skip
    cluster = ClusterSettings()
    # The producing process pauses like a worker does when it collects, and a pause there sends
    # jobs late: it takes the worker's collector settings (`keel.load.sent` has the evidence).
    collector.tune(HARNESS_GC_THRESHOLD)
    folder = out / f"{config.scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    if config.rates:
        _sweep(config, cluster, folder, columns)
        return
    if config.duration_s > 0:
        _soak(config, cluster, folder, columns)
        return
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        restart = None if cluster.is_external else _restart_local_broker
        summary = run_load(config, cluster, folder, progress=_Bar(progress), restart_broker=restart)
    write_report(summary, folder)
    data = summary.to_json()
    if as_json:
        typer.echo(json.dumps({k: v for k, v in data.items() if k != "timeline"}, indent=2))
    else:
        typer.echo(_headline(data) + f"\nreport: {folder / 'report.md'}")
    if not summary.verdict.ok:
        raise typer.Exit(1)


def _rates(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        message = f"--rates takes numbers separated by commas, got {text!r}"
        raise typer.BadParameter(message) from None


def _sweep(
    config: RunConfig, cluster: ClusterSettings, folder: Path, columns: tuple[ProgressColumn, ...]
) -> None:
    """The latency sweep; exits 1 when the oracle fails any of its rounds."""
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        steps = run_sweep(config, cluster, folder, progress=_Bar(progress))
    report = write_sweep(steps, config, folder)
    typer.echo(headline(steps) + f"\nreport: {report}")
    if not all(step.verdict.ok for step in steps):
        raise typer.Exit(1)


def _duration(text: str | None) -> float | None:
    try:
        return None if text is None else parse_duration(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _soak(
    config: RunConfig, cluster: ClusterSettings, folder: Path, columns: tuple[ProgressColumn, ...]
) -> None:
    """The soak; exits 1 when the oracle fails it."""
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        soak = run_soak(config, cluster, folder, progress=_Bar(progress))
    report = write_soak(soak, folder)
    typer.echo(soak_headline(soak_summary(soak)) + f"\nreport: {report}")
    if not soak.live.verdict.ok:
        raise typer.Exit(1)


def _headline(data: dict[str, object]) -> str:
    rates, latency, oracle = data["rates"], data["latency_ms"], data["oracle"]
    assert isinstance(rates, dict) and isinstance(latency, dict) and isinstance(oracle, dict)  # noqa: S101, PT018
    return (
        f"{'PASS' if data['ok'] else 'FAIL'} {data['scenario']}: keel {rates['keel_per_s']}/s, "
        f"baseline {rates['baseline_per_s']}/s, ratio {rates['ratio']}; "
        f"p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms; lost {oracle['lost']}, "
        f"duplicates {oracle['duplicates']}, order violations {oracle['order_violations']}, "
        f"runs out of order {oracle['runs_out_of_order']} "
        f"(+{oracle['runs_out_of_order_across_workers']} across workers), "
        f"overlaps {oracle['overlaps']} (+{oracle['overlaps_across_workers']} across workers)"
    )


def _restart_local_broker() -> None:
    LocalStack(LocalStackSettings()).restart_broker()
