"""The standard OpenTelemetry environment variables keel acts on, read once.

keel turns its OTLP exporters on when an OTLP endpoint is named (`OTEL_EXPORTER_OTLP_ENDPOINT`,
or the per-signal `..._TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`), unless `OTEL_SDK_DISABLED`
or `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` = `none` say otherwise. Everything else an
exporter reads (headers, timeout, compression, `OTEL_SERVICE_NAME`, resource attributes) the
OpenTelemetry SDK reads itself, by the same standard names.
"""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TelemetrySettings(BaseSettings):
    """Whether traces and metrics leave the process over OTLP, and how often metrics do."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", frozen=True, extra="ignore")

    sdk_disabled: bool = False
    exporter_otlp_endpoint: str | None = None
    exporter_otlp_traces_endpoint: str | None = None
    exporter_otlp_metrics_endpoint: str | None = None
    traces_exporter: str = "otlp"
    metrics_exporter: str = "otlp"
    metric_export_interval: int = Field(default=60_000, gt=0)  # milliseconds, as the spec says
    # Read only to know whether the user named the service; the SDK applies them itself.
    service_name: str | None = None
    resource_attributes: str = ""

    def default_service_name(self, group: str) -> dict[str, str]:
        """`service.name` = the worker's group, unless the environment names the service."""
        named = self.service_name or "service.name=" in self.resource_attributes
        return {} if named else {"service.name": group}

    @property
    def otlp_traces(self) -> bool:
        """True when spans should be exported over OTLP."""
        endpoint = self.exporter_otlp_traces_endpoint or self.exporter_otlp_endpoint
        return not self.sdk_disabled and self.traces_exporter == "otlp" and bool(endpoint)

    @property
    def otlp_metrics(self) -> bool:
        """True when metrics should be exported over OTLP."""
        endpoint = self.exporter_otlp_metrics_endpoint or self.exporter_otlp_endpoint
        return not self.sdk_disabled and self.metrics_exporter == "otlp" and bool(endpoint)
