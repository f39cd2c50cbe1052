"""The deployment files agree with the code they deploy: the worker's setting names, health
paths and metric names, and the producer's topic routes.

The deployment files are read as written, and the overlays as kustomize renders them.
"""

import asyncio
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from keel.consumers.pipeline import observer
from keel.consumers.settings import WorkerSettings
from keel.consumers.telemetry import health
from keel.consumers.telemetry.metrics import Metrics
from keel.consumers.telemetry.prometheus import PrometheusView
from keel.producers.demo import DEMO_ROUTES
from keel.producers.settings import ProducerSettings
from keel.schemas.topics import dead_letter_topic
from tests.support.deploy import (
    DASHBOARD,
    DEAD_LETTER_SUFFIX,
    DEPLOY,
    K8S,
    Manifest,
    documented_metrics,
    job_topics,
    load_all,
    queried_metrics,
    render,
    worker_env,
)

PREFIX = "KEEL_WORKER_"


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


@functools.cache
def _deployed_environments() -> dict[str, dict[str, str]]:
    """The worker environments this repository ships, by where they are written."""
    with (DEPLOY / "compose.yaml").open() as stream:
        compose = yaml.safe_load(stream)
    environments = {
        "k8s/base/worker.env": _env_file(K8S / "base" / "worker.env"),
        # safe_load resolves the `<<: *cluster` merge, so the cluster addresses are here too.
        "compose.yaml": {
            k: str(v) for k, v in compose["services"]["worker"]["environment"].items()
        },
    }
    for overlay in ("dev", "prod"):
        environments[f"k8s/overlays/{overlay}"] = worker_env(render(overlay))
    return environments


def _statefulset_paths() -> set[str]:
    statefulset: Manifest = load_all(K8S / "base" / "statefulset.yaml")[0]
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    probes = ("startupProbe", "livenessProbe", "readinessProbe")
    paths = {container[p]["httpGet"]["path"] for p in probes}
    return paths | {
        statefulset["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    }


async def _status(port: int, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: probe\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def _serve_and_ask(paths: set[str]) -> dict[str, int]:
    healthy = health.Probe(ok=True, detail={})
    server = health.HealthServer(lambda: healthy, lambda: healthy, lambda: "")
    await server.start("127.0.0.1", 0)
    try:
        return {path: await _status(server.port, path) for path in sorted(paths)}
    finally:
        await server.close()


@pytest.mark.parametrize("source", sorted(_deployed_environments()))
def test_deployed_settings_are_worker_settings(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _deployed_environments()[source]
    fields = WorkerSettings.model_fields
    unknown = [k for k in env if k.startswith(PREFIX) and k[len(PREFIX) :].lower() not in fields]
    assert unknown == [], f"{source} sets variables the worker ignores"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = WorkerSettings()
    assert settings.cluster.kafka_bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert settings.shutdown_timeout == float(env[f"{PREFIX}SHUTDOWN_TIMEOUT"])


def test_readme_names_every_worker_setting() -> None:
    fields = WorkerSettings.model_fields
    readme = (DEPLOY / "README.md").read_text()
    # Their own variables: KAFKA_*, SCHEMA_REGISTRY_URL, OTEL_*, KEEL_BEATS_*, KEEL_STATUS_*.
    nested = {"cluster", "telemetry", "beats", "status"}
    missing = [f for f in fields if f not in nested and f"`{PREFIX}{f.upper()}`" not in readme]
    assert missing == []


def test_image_and_manifests_use_the_worker_default_health_port() -> None:
    fields = WorkerSettings.model_fields
    default = fields["health_port"].default
    assert f"EXPOSE {default}" in (DEPLOY / "Dockerfile").read_text()
    assert _env_file(K8S / "base" / "worker.env")[f"{PREFIX}HEALTH_PORT"] == str(default)


def test_probe_and_scrape_paths_are_served_by_the_worker() -> None:
    healthcheck = re.search(r"127\.0\.0\.1:\d+(/\w+)", (DEPLOY / "Dockerfile").read_text())
    assert healthcheck is not None
    paths = _statefulset_paths() | {healthcheck[1]}
    assert asyncio.run(_serve_and_ask(paths)) == dict.fromkeys(sorted(paths), 200)


def test_dashboard_and_readme_match_the_worker_metrics() -> None:
    metrics = Metrics()
    for outcome in (observer.PROCESSED, observer.FAILED, observer.RETRIED):
        metrics.attempt_ended("keel.jobs.SendEmail", outcome, 0.01)
    metrics.dead_lettered("keel.jobs.SendEmail", "invalid-job")
    rendered = PrometheusView(metrics.snapshot).render()
    exported = set(re.findall(r"^# TYPE (\S+) ", rendered, re.MULTILINE))
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert queried_metrics(dashboard) <= exported
    assert documented_metrics() == exported


@pytest.mark.parametrize("source", sorted(_deployed_environments()))
def test_deployed_workers_read_the_demo_routes(source: str) -> None:
    # keel has no default routes: a worker of the demo app finds its topics in KEEL_ROUTES.
    routes = json.loads(_deployed_environments()[source]["KEEL_ROUTES"])
    assert ProducerSettings(routes=routes).routes == DEMO_ROUTES


def test_kafka_topics_and_lag_triggers_follow_the_deployed_routes() -> None:
    routes = json.loads(_env_file(K8S / "base" / "worker.env")["KEEL_ROUTES"])
    settings = ProducerSettings(routes=routes)
    topics = load_all(K8S / "base" / "kafkatopics.yaml")
    scaled = load_all(K8S / "base" / "scaledobject.yaml")[0]
    assert job_topics(topics) == settings.topics()
    assert {t["metadata"]["topic"] for t in scaled["spec"]["triggers"]} == set(settings.topics())
    assert dead_letter_topic("t") == f"t{DEAD_LETTER_SUFFIX}"
