"""deploy/k8s/components/dispatcher: the dispatcher runs `keel dispatcher run` with the worker's
image and settings, and its topics and user are what `keel deploy dispatcher` generates."""

import pytest
import yaml
from typer.testing import CliRunner

from keel.cli import app
from keel.deploy.strimzi import dispatcher_acls
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.settings import DispatcherSettings
from tests.support.deploy import K8S, OVERLAYS, of_kind, render, worker_env

COMPONENT = K8S / "components" / "dispatcher"


def test_the_dispatcher_resources_are_what_keel_deploy_dispatcher_generates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEL_ROUTES", worker_env(render("prod"))["KEEL_ROUTES"])
    monkeypatch.delenv("KEEL_DELAYED_TOPIC", raising=False)

    generated = CliRunner().invoke(app, ["deploy", "dispatcher"])

    assert generated.exit_code == 0, generated.output
    assert (COMPONENT / "dispatcher.yaml").read_text() == generated.stdout


def test_the_dispatcher_deployment_runs_the_dispatcher_with_a_standby() -> None:
    deployment = yaml.safe_load((COMPONENT / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["keel", "dispatcher", "run"]
    assert deployment["spec"]["replicas"] == 2
    assert container["envFrom"] == [{"configMapRef": {"name": "keel-worker"}}]


def test_the_dispatcher_may_fence_and_commit_its_progress_but_create_nothing() -> None:
    names = DelayedNames("keel.delayed")
    acls = {(a.resource, a.name): a.operations for a in dispatcher_acls(names, ["jobs.email"])}
    assert acls[("transactionalId", names.transactional_id)] == ("Write", "Describe")
    assert acls[("group", names.progress_group)] == ("Read",)
    assert acls[("group", names.leader_group)] == ("Read",)
    assert acls[("topic", "jobs.email")] == ("Write", "Describe")
    assert not any("Create" in ops for ops in acls.values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_runs_the_dispatcher_with_the_worker_image_and_its_topics(
    overlay: str,
) -> None:
    manifests = render(overlay)
    [dispatcher] = [
        d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"] == "keel-dispatcher"
    ]
    [worker] = list(of_kind(manifests, "StatefulSet"))
    container = dispatcher["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["keel", "dispatcher", "run"]
    assert container["image"] == worker["spec"]["template"]["spec"]["containers"][0]["image"]
    topics = {t["spec"]["topicName"] for t in of_kind(manifests, "KafkaTopic")}
    names = DelayedNames(worker_env(manifests).get("KEEL_DELAYED_TOPIC", "keel.delayed"))
    assert {names.topic, names.cancels} <= topics


def test_the_dispatcher_pod_serves_its_probes_and_metrics_on_its_http_port() -> None:
    deployment = yaml.safe_load((COMPONENT / "deployment.yaml").read_text())
    template = deployment["spec"]["template"]
    container = template["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    settings = DispatcherSettings(
        health_host=env["KEEL_DISPATCHER_HEALTH_HOST"],
        health_port=int(env["KEEL_DISPATCHER_HEALTH_PORT"]),
    )
    [port] = container["ports"]
    assert settings.health_port == port["containerPort"]
    assert settings.health_host == "0.0.0.0"  # noqa: S104 - a pod answers its kubelet
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    scrape = template["metadata"]["annotations"]
    assert scrape["prometheus.io/port"] == str(settings.health_port)
    assert scrape["prometheus.io/path"] == "/metrics"
