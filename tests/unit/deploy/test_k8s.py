"""deploy/k8s: each overlay renders with kustomize and validates against the Kubernetes schemas,
and the rendered objects hold together: probes on the worker's endpoints, a grace period longer
than the drain, static membership from the pod name, scaling capped by the partition count.
"""

import copy
import subprocess

import kubernetes_validate
import pytest
from typer.testing import CliRunner

from keel.cli import app
from keel.consumers.settings import WorkerSettings
from keel.consumers.shutdown import TERMINATION_MARGIN
from keel.deploy.strimzi import TopicPolicy, kafka_topics
from tests.support.deploy import (
    DEAD_LETTER_SUFFIX,
    K8S,
    KUBERNETES_VERSION,
    OVERLAYS,
    Manifest,
    internal,
    job_topics,
    of_kind,
    one,
    render,
    worker_env,
)

# Custom resources: their schemas come with the operators' CRDs, which no package registry
# reachable here ships; test_scaled_object_* and test_*topic* check the fields the operators need.
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "KafkaTopic", "KafkaUser"}

_rendered: dict[str, list[Manifest]] = {}


@pytest.fixture(params=OVERLAYS)
def manifests(request: pytest.FixtureRequest) -> list[Manifest]:
    overlay: str = request.param
    if overlay not in _rendered:
        try:
            _rendered[overlay] = render(overlay)
        except subprocess.CalledProcessError as exc:
            pytest.fail(f"kustomize build overlays/{overlay} failed:\n{exc.stderr}")
    return copy.deepcopy(_rendered[overlay])


def _container(manifests: list[Manifest]) -> Manifest:
    containers: list[Manifest] = one(manifests, "StatefulSet")["spec"]["template"]["spec"][
        "containers"
    ]
    assert len(containers) == 1
    return containers[0]


def _named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    return next(m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name)


def test_overlay_validates_against_the_kubernetes_schemas(manifests: list[Manifest]) -> None:
    checked = set()
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        checked.add(manifest["kind"])
    assert {"StatefulSet", "Deployment", "Service", "PodDisruptionBudget", "ConfigMap"} <= checked


def test_schema_validation_rejects_a_broken_statefulset(manifests: list[Manifest]) -> None:
    statefulset = one(manifests, "StatefulSet")
    statefulset["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 40
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, KUBERNETES_VERSION, strict=True)


def test_worker_member_id_is_the_pod_name(manifests: list[Manifest]) -> None:
    env = {e["name"]: e for e in _container(manifests).get("env", [])}
    source = env["KEEL_WORKER_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert source == "metadata.name"
    assert one(manifests, "StatefulSet")["spec"]["updateStrategy"]["type"] == "RollingUpdate"


def test_probes_use_the_worker_health_endpoints(manifests: list[Manifest]) -> None:
    container = _container(manifests)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    health_port = int(worker_env(manifests)["KEEL_WORKER_HEALTH_PORT"])
    # The kubelet probes the pod's address, so the endpoint must not listen on loopback only.
    assert worker_env(manifests)["KEEL_WORKER_HEALTH_HOST"] not in {"127.0.0.1", "localhost"}
    for probe, path in (
        ("startupProbe", "/livez"),
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
    ):
        get = container[probe]["httpGet"]
        assert get["path"] == path
        assert ports[get["port"]] == health_port


def test_grace_period_outlasts_the_shutdown_bound(manifests: list[Manifest]) -> None:
    # SIGTERM's whole way out (jobs, commit, close, dead-letter flush) ends within
    # shutdown_timeout, a revoke drain under way included; the margin is the process's exit,
    # and a preStop hook runs before SIGTERM is even sent.
    env = worker_env(manifests)
    pod = one(manifests, "StatefulSet")["spec"]["template"]["spec"]
    bound = float(env["KEEL_WORKER_SHUTDOWN_TIMEOUT"])
    needed = _pre_stop_seconds(_container(manifests)) + bound + TERMINATION_MARGIN
    assert pod["terminationGracePeriodSeconds"] >= needed


def test_grace_period_check_counts_a_pre_stop_sleep(manifests: list[Manifest]) -> None:
    container = _container(manifests)
    container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    assert _pre_stop_seconds(container) == 5.0


def _pre_stop_seconds(container: Manifest) -> float:
    """How long the container's preStop hook holds SIGTERM back: a `sleep N`, or none."""
    hook = container.get("lifecycle", {}).get("preStop")
    if hook is None:
        return 0.0
    command = hook.get("exec", {}).get("command", [])
    assert command[:1] == ["sleep"], f"unknown preStop hook {hook}"
    assert len(command) == 2, f"unknown preStop hook {hook}"
    return float(command[1])


def test_static_membership_survives_a_restart(manifests: list[Manifest]) -> None:
    # A restarted pod keeps its partitions only if it rejoins within the session timeout;
    # the way out alone takes up to the shutdown timeout.
    env = worker_env(manifests)
    session_s = int(env["KEEL_WORKER_SESSION_TIMEOUT_MS"]) / 1000
    assert session_s > float(env["KEEL_WORKER_SHUTDOWN_TIMEOUT"])


def test_worker_has_requests_and_limits(manifests: list[Manifest]) -> None:
    resources = _container(manifests)["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) >= {"cpu", "memory"}


def test_worker_runs_unprivileged(manifests: list[Manifest]) -> None:
    pod = one(manifests, "StatefulSet")["spec"]["template"]["spec"]
    container = _container(manifests)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_disruption_budget_and_service_select_the_worker_pods(manifests: list[Manifest]) -> None:
    statefulset = one(manifests, "StatefulSet")
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    budget = _named(manifests, "PodDisruptionBudget", statefulset["metadata"]["name"])["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert budget["maxUnavailable"] == 1
    service = next(
        s
        for s in of_kind(manifests, "Service")
        if s["metadata"]["name"] == statefulset["spec"]["serviceName"]
    )
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["publishNotReadyAddresses"] is True
    metrics_port = next(p for p in service["spec"]["ports"] if p["name"] == "http-metrics")
    assert metrics_port["targetPort"] in {p["name"] for p in _container(manifests)["ports"]}


def test_settings_come_from_the_config_map(manifests: list[Manifest]) -> None:
    sources = _container(manifests)["envFrom"]
    config_maps = {m["metadata"]["name"] for m in of_kind(manifests, "ConfigMap")}
    assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= config_maps
    # Credentials are files mounted from Secrets (test_k8s_credentials.py), not variables.
    assert [s for s in sources if "secretRef" in s] == []
    assert "KAFKA_BOOTSTRAP_SERVERS" in worker_env(manifests)


def test_prod_commits_no_secret() -> None:
    assert list(of_kind(render("prod"), "Secret")) == []


def test_scaled_object_targets_the_worker(manifests: list[Manifest]) -> None:
    scaled = one(manifests, "ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    target = scaled["spec"]["scaleTargetRef"]
    statefulset = one(manifests, "StatefulSet")
    assert (target["kind"], target["name"]) == ("StatefulSet", statefulset["metadata"]["name"])
    assert target["envSourceContainerName"] == _container(manifests)["name"]
    env = worker_env(manifests)
    for trigger in scaled["spec"]["triggers"]:
        assert trigger["type"] == "kafka"
        metadata = trigger["metadata"]
        assert metadata["bootstrapServersFromEnv"] in env
        assert metadata["consumerGroupFromEnv"] in env
        assert metadata["allowIdleConsumers"] == "false"


def test_scaled_object_never_exceeds_the_partition_count(manifests: list[Manifest]) -> None:
    scaled = one(manifests, "ScaledObject")["spec"]
    partitions = job_topics(list(of_kind(manifests, "KafkaTopic")))
    watched = [t["metadata"]["topic"] for t in scaled["triggers"]]
    assert set(watched) == set(partitions), "every job topic has a lag trigger, and no other"
    assert scaled["minReplicaCount"] >= 1
    assert scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    assert scaled["maxReplicaCount"] <= max(partitions[t] for t in watched)


def test_scaled_object_lag_target_sits_above_the_worker_buffer(manifests: list[Manifest]) -> None:
    env = worker_env(manifests)
    # The worker's own rule for its buffer, not a copy of it that could drift.
    high_water = WorkerSettings(
        max_in_flight=int(env["KEEL_WORKER_MAX_IN_FLIGHT"]),
        buffer_high=env.get("KEEL_WORKER_BUFFER_HIGH"),
    ).high_water
    for trigger in one(manifests, "ScaledObject")["spec"]["triggers"]:
        assert int(trigger["metadata"]["lagThreshold"]) > high_water


def test_every_job_topic_has_its_dead_letter_topic(manifests: list[Manifest]) -> None:
    topics = [t for t in of_kind(manifests, "KafkaTopic") if not internal(t)]
    names = {t["spec"]["topicName"] for t in topics}
    jobs = job_topics(topics)
    assert jobs
    assert names == set(jobs) | {f"{t}{DEAD_LETTER_SUFFIX}" for t in jobs}


def test_topics_fit_their_strimzi_cluster(manifests: list[Manifest]) -> None:
    for topic in of_kind(manifests, "KafkaTopic"):
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"]
        spec = topic["spec"]
        assert spec["partitions"] >= 1
        min_isr = int(spec["config"]["min.insync.replicas"])
        assert min_isr >= 1
        assert min_isr <= spec["replicas"]
        # Two in-sync copies where there are three replicas: acks=all survives one broker down.
        if spec["replicas"] >= 3:
            assert int(spec["config"]["min.insync.replicas"]) >= 2


def test_the_kafka_topics_are_what_keel_deploy_topics_generates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As the file's header says: generated from the routes the worker is deployed with.
    routes = next(
        line.split("=", 1)[1]
        for line in (K8S / "base" / "worker.env").read_text().splitlines()
        if line.startswith("KEEL_ROUTES=")
    )
    monkeypatch.setenv("KEEL_ROUTES", routes)

    generated = CliRunner().invoke(app, ["deploy", "topics"])

    assert generated.exit_code == 0, generated.output
    assert (K8S / "base" / "kafkatopics.yaml").read_text() == generated.stdout


def test_keel_deploy_topics_without_routes_prints_no_manifests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KEEL_ROUTES", raising=False)

    generated = CliRunner().invoke(app, ["deploy", "topics"])

    assert generated.exit_code == 2
    assert generated.stdout == ""
    assert "no routes" in generated.stderr


def test_dead_letter_topics_have_the_partitions_of_their_job_topic() -> None:
    manifests = kafka_topics({"jobs.a": 6, "jobs.b": 2}, TopicPolicy(replicas=1))
    partitions = {m["spec"]["topicName"]: m["spec"]["partitions"] for m in manifests}

    assert partitions == {"jobs.a": 6, "jobs.b": 2, "jobs.a.dlt": 6, "jobs.b.dlt": 2}
