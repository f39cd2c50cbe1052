"""The OpenTelemetry side of a worker: which tracer and meter providers it uses, and their end.

Tracing uses, in this order: the provider handed to the worker, the global one an application
set, or, when an OTLP endpoint is configured (`keel.consumers.telemetry.settings`), a provider keel
builds with a batching OTLP/HTTP span exporter. Metrics leave over OTLP only when configured
(or when an exporter is handed in, as tests do): keel then builds a meter provider whose
periodic reader exports its own aggregates (`keel.consumers.telemetry.otel`). With none of that, no
provider exists and nothing OpenTelemetry runs per job.

Providers keel built are keel's to shut down: `close` flushes what is buffered.
"""

from dataclasses import dataclass, field
from typing import TypeVar

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from keel.consumers.telemetry.otel import OtelMetrics, Read, WithHistograms
from keel.consumers.telemetry.settings import TelemetrySettings
from keel.schemas.tracing import TracerProvider, tracer_provider

P = TypeVar("P", SdkTracerProvider, MeterProvider)


@dataclass
class Telemetry:
    """The providers a worker reports to (None: that signal is off)."""

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    _owned: list[SdkTracerProvider | MeterProvider] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        settings: TelemetrySettings,
        *,
        group: str,
        read: Read,
        tracer: TracerProvider | None = None,
        metric_exporter: MetricExporter | None = None,
    ) -> "Telemetry":
        """The providers for a worker of `group`; `read` takes a snapshot of its metrics."""
        telemetry = cls(tracer_provider=tracer_provider(tracer))
        # Without a name of its own a worker would report as unknown_service:python3.
        resource = Resource.create(settings.default_service_name(group))
        if telemetry.tracer_provider is None and settings.otlp_traces:
            telemetry.tracer_provider = telemetry._own(_otlp_tracer_provider(resource))
        if metric_exporter is None and settings.otlp_metrics:
            metric_exporter = _otlp_metric_exporter()
        if metric_exporter is not None:
            exporter = WithHistograms(metric_exporter, read, group, resource)
            reader = PeriodicExportingMetricReader(
                exporter, export_interval_millis=settings.metric_export_interval
            )
            provider = telemetry._own(MeterProvider(metric_readers=[reader], resource=resource))
            OtelMetrics(read, provider, group)
            telemetry.meter_provider = provider
        return telemetry

    def _own(self, provider: P) -> P:
        self._owned.append(provider)
        return provider

    def close(self) -> None:
        """Flush and shut down the providers keel built (never an application's own)."""
        for provider in self._owned:
            provider.shutdown()
        self._owned.clear()


# The OTLP exporters are imported only when configured: they bring protobuf and requests,
# which cost a worker that exports nothing a noticeable start-up time.


def _otlp_tracer_provider(resource: Resource) -> SdkTracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    provider = SdkTracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _otlp_metric_exporter() -> MetricExporter:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
        OTLPMetricExporter,
    )

    return OTLPMetricExporter()
