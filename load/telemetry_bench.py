"""What telemetry costs a no-op worker: `python -m load.telemetry_bench --other DIR`.

One topic of no-op SendEmail jobs is published once; then, round after round, the same records
are consumed by fresh consumer groups in child processes, one per variant, interleaved so that
every variant sees the same machine load:

- `other`: the keel source tree at DIR (e.g. `git archive main` unpacked), telemetry off;
- `off`:   this tree, no tracer or meter provider, text logs (the default);
- `on`:    this tree with an SDK tracer provider (batching spans to an exporter that drops
           them), metrics exported every second (dropped), and JSON log context.

Each child prints its jobs/s (`load.worker_bench.keel_rate`); the medians and every round are
printed, never asserted. Point it at a running stack with KAFKA_BOOTSTRAP_SERVERS and
SCHEMA_REGISTRY_URL (it does not start one).
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from consumers import App, WorkerSettings
from consumers.runner import Worker
from load import worker_bench
from load.worker_bench import publish
from schemas.codec import JobCodec
from schemas.settings import ClusterSettings

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
    rate = asyncio.run(worker_bench.keel_rate(ClusterSettings(), topic, count, 0.0, 500))
    print(f"{rate:.1f}")


class _Telemetered(Worker):
    """A worker with tracing (spans dropped), metric export (dropped) and JSON log context."""

    def __init__(self, app: App, settings: WorkerSettings, codec: JobCodec) -> None:
        provider = SdkTracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_DropSpans()))
        settings = settings.model_copy(update={"log_format": "json"})
        super().__init__(app, settings, codec, provider, _DropMetrics())


def run_variant(variant: str, other: Path, topic: str, count: int) -> float:
    """One variant's jobs/s, in a child process importing keel from its tree."""
    here = Path(__file__).resolve().parents[1]
    tree = other if variant == "other" else here
    env = {**os.environ, "PYTHONPATH": str(tree), "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    if variant == "other":
        script = (
            "import asyncio; from load.worker_bench import keel_rate; "
            "from schemas.settings import ClusterSettings; "
            f"print(asyncio.run(keel_rate(ClusterSettings(), {topic!r}, {count}, 0.0, 500)))"
        )
    else:
        script = f"from load.telemetry_bench import child; child({variant!r}, {topic!r}, {count})"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--other", type=Path, required=True, help="keel tree to compare with")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    settings = ClusterSettings()
    if not settings.is_external:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL to a running stack")
    topic = f"telemetry-bench-{uuid.uuid4().hex[:8]}"
    publish(settings, topic, args.jobs, 500)
    variants = args.variants.split(",")
    rates: dict[str, list[float]] = {variant: [] for variant in variants}
    for round_ in range(args.rounds):
        order = variants[round_ % len(variants) :] + variants[: round_ % len(variants)]
        for variant in order:
            rates[variant].append(run_variant(variant, args.other, topic, args.jobs))
        print(f"round {round_ + 1}: " + "  ".join(f"{v} {rates[v][-1]:,.0f}" for v in variants))
    for variant in variants:
        median = statistics.median(rates[variant])
        runs = [round(rate) for rate in rates[variant]]
        print(f"{variant:>5}: median {median:,.0f} jobs/s  rounds {runs}")
    if "other" in rates:
        base = statistics.median(rates["other"])
        for variant in variants:
            print(f"{variant:>5} / other: {statistics.median(rates[variant]) / base:.3f}")


if __name__ == "__main__":
    main()
