"""What telemetry costs a no-op worker: `python -m keel.load.telemetry_bench --other DIR`.

One topic of no-op SendEmail jobs is published once; then, round after round, the same records
are consumed by fresh consumer groups in child processes, one per variant, interleaved so that
every variant sees the same machine load:

- `other`: the keel source tree at DIR (e.g. `git archive main` unpacked), telemetry off;
- `off`:   this tree, no tracer or meter provider, text logs (the default);
- `on`:    this tree with an SDK tracer provider (batching spans to an exporter that drops
           them), metrics exported every second (dropped), and JSON log context.

Each child prints its jobs/s (`keel.load.worker_bench.keel_rate`) and its CPU time per job
(steadier than the rate on a shared machine); the medians and every round are printed, never
asserted. Point it at a running stack with KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL (it
does not start one).
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import timeit
import uuid
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from keel.consumers import App, WorkerSettings
from keel.consumers.runner import Worker
from keel.load import worker_bench
from keel.load.topics import delete_topics
from keel.load.worker_bench import publish
from keel.schemas.codec import JobCodec
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic

VARIANTS = ("other", "off", "on")


class _DropSpans(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _DropMetrics(MetricExporter):
    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def child(variant: str, topic: str, count: int) -> None:
    """Run one variant in this process and print its rate."""
    if variant == "on":
        # keel_rate builds `Worker(app, settings, codec)`: this one has telemetry on.
        worker_bench.__dict__["Worker"] = _Telemetered
    cpu = time.process_time()
    rate = asyncio.run(worker_bench.keel_rate(ClusterSettings(), topic, count, 0.0, 500))
    print(f"{rate:.1f} {(time.process_time() - cpu) / count * 1e6:.2f}")


class _Telemetered(Worker):
    """A worker with tracing (spans dropped), metric export (dropped) and JSON log context."""

    def __init__(self, app: App, settings: WorkerSettings, codec: JobCodec) -> None:
        provider = SdkTracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_DropSpans()))
        settings = settings.model_copy(update={"log_format": "json"})
        super().__init__(app, settings, codec, provider, _DropMetrics())


def run_variant(variant: str, other: Path, topic: str, count: int) -> tuple[float, float]:
    """One variant's jobs/s and CPU us per job (the whole process: both threads, startup
    included), in a child process importing keel from its tree."""
    here = Path(__file__).resolve().parents[1]
    tree = other if variant == "other" else here
    env = {**os.environ, "PYTHONPATH": str(tree), "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    if variant == "other":
        script = (
            "import asyncio, time; from keel.load.worker_bench import keel_rate; "
            "from keel.schemas.settings import ClusterSettings; cpu = time.process_time(); "
            f"rate = asyncio.run(keel_rate(ClusterSettings(), {topic!r}, {count}, 0.0, 500)); "
            f"print(rate, (time.process_time() - cpu) / {count} * 1e6)"
        )
    else:
        script = (
            f"from keel.load.telemetry_bench import child; child({variant!r}, {topic!r}, {count})"
        )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    rate, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(rate), float(cpu)


class _Published:
    """A consumed record as the metrics read it: keel's headers and a timestamp."""

    def __init__(self, created_ms: int) -> None:
        self._headers = [
            ("keel-job-id", b"0193"),
            ("keel-job-type", b"keel.jobs.SendEmail"),
            ("keel-created-at", b"%d" % created_ms),
            ("keel-attempt", b"1"),
        ]

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)


def instruments(calls: int = 100_000) -> None:
    """Print the per-call cost of OpenTelemetry SDK instruments and of keel's aggregates."""
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415

    from keel.consumers.pipeline.observer import PROCESSED  # noqa: PLC0415
    from keel.consumers.telemetry.metrics import Metrics  # noqa: PLC0415

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    meter = provider.get_meter("bench")
    counter, duration, latency = (
        meter.create_counter("c"),
        meter.create_histogram("d"),
        meter.create_histogram("l"),
    )
    attributes = {"keel.job.type": "keel.jobs.SendEmail"}
    metrics, record = Metrics(), _Published(int(time.time() * 1000))

    def sdk_job() -> None:
        counter.add(1, attributes)
        duration.record(0.003, attributes)
        latency.record(0.5, attributes)

    cases = {
        "otel Counter.add": lambda: counter.add(1, attributes),
        "otel Histogram.record": lambda: duration.record(0.003, attributes),
        "otel, the three a job needs": sdk_job,
        "keel attempt_ended + latency": lambda: metrics.attempt_ended(
            "keel.jobs.SendEmail",
            PROCESSED,
            0.003,
            record,  # type: ignore[arg-type]
        ),
        "keel attempt_ended, no record": lambda: metrics.attempt_ended(
            "keel.jobs.SendEmail", PROCESSED, 0.003
        ),
    }
    for name, case in cases.items():
        best = min(timeit.repeat(case, number=calls, repeat=5)) / calls * 1e6
        print(f"{name:<32} {best:6.2f} us")
    provider.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instruments", action="store_true", help="only the per-call costs")
    parser.add_argument("--other", type=Path, help="keel tree to compare with")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    if args.instruments:
        instruments()
        return
    if args.other is None:
        parser.error("--other is required")
    settings = ClusterSettings()
    if not settings.is_external:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL to a running stack")
    topic = f"telemetry-bench-{uuid.uuid4().hex[:8]}"
    try:
        _compare(settings, topic, args)
    finally:
        delete_topics(settings, [topic, dead_letter_topic(topic)])


def _compare(settings: ClusterSettings, topic: str, args: argparse.Namespace) -> None:
    """Publish the jobs, run the variants' rounds, and print what each cost."""
    publish(settings, topic, args.jobs, 500)
    variants = args.variants.split(",")
    rates: dict[str, list[float]] = {variant: [] for variant in variants}
    cpus: dict[str, list[float]] = {variant: [] for variant in variants}
    for round_ in range(args.rounds):
        order = variants[round_ % len(variants) :] + variants[: round_ % len(variants)]
        for variant in order:
            rate, cpu = run_variant(variant, args.other, topic, args.jobs)
            rates[variant].append(rate)
            cpus[variant].append(cpu)
        print(
            f"round {round_ + 1}: "
            + "  ".join(f"{v} {rates[v][-1]:,.0f}/s {cpus[v][-1]:.1f}us" for v in variants)
        )
    for variant in variants:
        print(
            f"{variant:>5}: median {statistics.median(rates[variant]):,.0f} jobs/s, "
            f"{statistics.median(cpus[variant]):.1f} us CPU/job"
        )
    if "other" in rates:
        rate, cpu = statistics.median(rates["other"]), statistics.median(cpus["other"])
        for variant in variants:
            print(
                f"{variant:>5} / other: rate {statistics.median(rates[variant]) / rate:.3f}, "
                f"CPU per job {statistics.median(cpus[variant]) / cpu:.3f}"
            )


if __name__ == "__main__":
    main()
