"""deploy/k8s/components/scheduler: the scheduler runs beside the worker with the same image and
settings, two pods of which one leads, and its state topic and user are what
`keel deploy scheduler` generates for the scheduler the Deployment runs.
"""

import pytest
from typer.testing import CliRunner

from keel.cli import app
from keel.producers.loading import load_target
from keel.producers.scheduler.app import Scheduler, returned_job_types
from keel.producers.settings import ProducerSettings
from tests.support.deploy import K8S, OVERLAYS, Manifest, of_kind, one, render, worker_env

COMPONENT = K8S / "components" / "scheduler"
RUN = ["keel", "scheduler", "run"]

_rendered: dict[str, list[Manifest]] = {}


@pytest.fixture(params=OVERLAYS)
def manifests(request: pytest.FixtureRequest) -> list[Manifest]:
    overlay: str = request.param
    if overlay not in _rendered:
        _rendered[overlay] = render(overlay)
    return _rendered[overlay]


def _pod(manifest: Manifest) -> Manifest:
    pod: Manifest = manifest["spec"]["template"]["spec"]
    return pod


def _labels(manifest: Manifest) -> dict[str, str]:
    labels: dict[str, str] = manifest["spec"]["template"]["metadata"]["labels"]
    return labels


def _deployment(manifests: list[Manifest]) -> Manifest:
    [deployment] = [
        d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"] == "keel-scheduler"
    ]
    return deployment


def _scheduler(deployment: Manifest) -> Scheduler:
    container = _pod(deployment)["containers"][0]
    assert container["command"] == RUN
    [target] = container["args"]
    return load_target(target, Scheduler)


def test_scheduler_runs_the_worker_image_with_the_worker_settings(
    manifests: list[Manifest],
) -> None:
    scheduler = _pod(_deployment(manifests))["containers"][0]
    worker = _pod(one(manifests, "StatefulSet"))["containers"][0]

    assert scheduler["image"] == worker["image"]
    assert scheduler["envFrom"] == worker["envFrom"]
    assert scheduler["command"] == RUN


def test_two_schedulers_stand_so_that_one_can_take_over(manifests: list[Manifest]) -> None:
    deployment = _deployment(manifests)
    budget = next(
        b
        for b in of_kind(manifests, "PodDisruptionBudget")
        if b["metadata"]["name"] == deployment["metadata"]["name"]
    )

    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert budget["spec"]["minAvailable"] == 1
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector.items() <= _labels(deployment).items()
    # Neither budget counts the other's pods.
    assert not selector.items() <= _labels(one(manifests, "StatefulSet")).items()


def test_scheduler_runs_unprivileged(manifests: list[Manifest]) -> None:
    pod = _pod(_deployment(manifests))
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(container["resources"]) == {"requests", "limits"}


def test_the_scheduler_state_topic_is_deployed_and_its_jobs_are_routed(
    manifests: list[Manifest],
) -> None:
    scheduler = _scheduler(_deployment(manifests))
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(manifests, "KafkaTopic")}

    state = topics[scheduler.state_topic]
    assert state["partitions"] == 1  # one leader: the member that owns the one partition
    assert state["config"]["cleanup.policy"] == "compact"
    routes = ProducerSettings.model_validate_json(
        f'{{"routes": {worker_env(manifests)["KEEL_ROUTES"]}}}'
    )
    for schedule in scheduler.schedules:
        for job_type in returned_job_types(schedule.make):
            assert routes.route(job_type.get_fullname()).topic in topics


def test_the_scheduler_resources_are_what_keel_deploy_scheduler_generates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment = next(
        d
        for d in of_kind(render("prod"), "Deployment")
        if d["metadata"]["name"] == "keel-scheduler"
    )
    [target] = _pod(deployment)["containers"][0]["args"]
    monkeypatch.setenv("KEEL_ROUTES", worker_env(render("prod"))["KEEL_ROUTES"])

    generated = CliRunner().invoke(app, ["deploy", "scheduler", target])

    assert generated.exit_code == 0, generated.output
    assert (COMPONENT / "scheduler.yaml").read_text() == generated.stdout


def test_keel_deploy_scheduler_refuses_what_is_not_a_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEL_ROUTES", '{"a.B": {"topic": "jobs.b", "partitions": 1}}')

    generated = CliRunner().invoke(app, ["deploy", "scheduler", "keel.consumers.demo:app"])

    assert generated.exit_code == 2
    assert generated.stdout == ""
