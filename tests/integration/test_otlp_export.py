"""OTLP export from a real worker process to a real HTTP endpoint, decoded as a collector would.

The endpoint is a small OTLP/HTTP receiver on loopback that keeps every request body; the test
decodes them with the OpenTelemetry protocol's own protobuf messages, so what is checked is
what a collector would receive: the spans of the jobs and the job counters.
"""

import gzip
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.test_worker_processes import finished
from tests.support.cluster import Cluster
from tests.support.processes import WorkerProcess
from tests.support.sample import email
from tests.support.waiting import wait_until
from tests.support.worker import JobProducer

JOBS = 50


class Receiver(ThreadingHTTPServer):
    """Accepts OTLP/HTTP posts and keeps their bodies by path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, list[bytes]] = {}
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self, path: str) -> list[bytes]:
        with self.lock:
            return list(self.bodies.get(path, []))


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self.server.lock:
            self.server.bodies.setdefault(self.path, []).append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


def span_names(receiver: Receiver) -> list[str]:
    names = []
    for body in receiver.received("/v1/traces"):
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                names += [span.name for span in scope.spans]
    return names


def processed_total(receiver: Receiver) -> float:
    """The latest cumulative `keel.jobs.processed` over every job type, 0 before any."""
    latest = 0.0
    for body in receiver.received("/v1/metrics"):
        request = ExportMetricsServiceRequest.FromString(body)
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "keel.jobs.processed":
                        latest = sum(p.as_int or p.as_double for p in metric.sum.data_points)
    return latest


def metric_names(receiver: Receiver) -> set[str]:
    """The metrics of the latest export."""
    request = ExportMetricsServiceRequest.FromString(receiver.received("/v1/metrics")[-1])
    return {
        metric.name
        for resource in request.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def service_names(receiver: Receiver) -> set[str]:
    """Every `service.name` the spans and metrics were sent under."""
    resources = [
        resource.resource
        for body in receiver.received("/v1/traces")
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
    ] + [
        resource.resource
        for body in receiver.received("/v1/metrics")
        for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics
    ]
    return {
        attribute.value.string_value
        for resource in resources
        for attribute in resource.attributes
        if attribute.key == "service.name"
    }


def test_a_worker_exports_spans_and_metrics_over_otlp_when_configured(
    cluster: Cluster,
    new_topic: Callable[..., str],
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a worker process pointed at an OTLP endpoint by the standard variables only
    topic = new_topic("otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "300")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    output = tmp_path / "finished"
    group = f"otlp-{topic}"
    worker = WorkerProcess(cluster, topic, group, output, latency=0.001)
    producer = JobProducer(cluster, topic)
    try:
        # When it runs jobs
        producer.send_all(email(n % 5, n // 5) for n in range(JOBS))
        producer.close()
        wait_until(lambda: finished(output) >= JOBS, 90, "every job")

        # Then the endpoint receives a process span per job and the processed counter
        wait_until(
            lambda: span_names(receiver).count(f"process {topic}") >= JOBS, 60, "the job spans"
        )
        wait_until(lambda: processed_total(receiver) >= JOBS, 60, "the processed counter")
    finally:
        worker.stop()
    # Every instrument reaches the collector, beside the histograms, under the group's name
    assert processed_total(receiver) == JOBS
    names = metric_names(receiver)
    assert {"keel.jobs.processed", "keel.jobs.buffered", "keel.consumer.time_lag"} <= names
    assert {"messaging.process.duration", "keel.job.latency"} <= names
    assert service_names(receiver) == {group}
