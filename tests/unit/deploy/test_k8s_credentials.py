"""deploy/k8s on a secured cluster: every credential is a file mounted from a Secret that Strimzi
or the platform makes, each workload signs in as its own KafkaUser, and the users are what
`keel deploy users` generates, with only the ACLs each role needs.
"""

import copy
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keel.cli import app
from keel.deploy.strimzi import (
    Acl,
    publisher_acls,
    put_off_acls,
    scheduler_acls,
    worker_acls,
)
from keel.producers.delayed.names import DelayedNames
from keel.producers.scheduler.app import Scheduler
from keel.schemas.settings import ClusterSettings
from tests.support.deploy import K8S, OVERLAYS, Manifest, of_kind, render, worker_env

SECURED = K8S / "components" / "secured"
WORKLOADS = (
    ("StatefulSet", "keel-worker"),
    ("Deployment", "keel-scheduler"),
    ("Deployment", "keel-dispatcher"),
)
# What the mounted Secrets hold in these tests, by key.
MOUNTED = {"password": "scram-password", "ca.crt": "a CA", "user-info": "keel:registry-password"}

_rendered: dict[str, list[Manifest]] = {}


def _render(overlay: str) -> list[Manifest]:
    if overlay not in _rendered:
        _rendered[overlay] = render(overlay)
    return copy.deepcopy(_rendered[overlay])


def _workload(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    return next(m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name)


def _secret_volumes(workload: Manifest) -> dict[str, dict[str, str]]:
    """Mount path -> the Secret mounted there: its name and the keys it projects."""
    pod = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted: dict[str, dict[str, str]] = {}
    for mount in pod["containers"][0].get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret is not None:
            keys = {item["key"]: item["path"] for item in secret["items"]}
            mounted[mount["mountPath"]] = {"secretName": secret["secretName"], **keys}
    return mounted


def _pod_environment(manifests: list[Manifest], workload: Manifest, root: Path) -> dict[str, str]:
    """The container's variables, with each mounted Secret written under `root` from MOUNTED."""
    container = workload["spec"]["template"]["spec"]["containers"][0]
    names = {s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s}
    env: dict[str, str] = {}
    for config_map in of_kind(manifests, "ConfigMap"):
        if config_map["metadata"]["name"] in names:
            env.update(config_map["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    for mount_path, secret in _secret_volumes(workload).items():
        directory = root / secret.pop("secretName")
        directory.mkdir()
        for key, path in secret.items():
            (directory / path).write_text(MOUNTED[key])
        env = {k: v.replace(mount_path, str(directory)) for k, v in env.items()}
    return env


def _cluster_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ClusterSettings:
    for name in os.environ:
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ClusterSettings()


@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_prod_pods_sign_in_with_scram_over_tls_from_mounted_secrets(
    kind: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = _render("prod")
    env = _pod_environment(manifests, _workload(manifests, kind, name), tmp_path)

    cluster = _cluster_settings(env, monkeypatch)

    kafka = cluster.kafka_config()
    assert kafka["security.protocol"] == "SASL_SSL"
    assert kafka["sasl.mechanism"] == "SCRAM-SHA-512"
    assert kafka["sasl.username"] == name
    assert kafka["sasl.password"] == MOUNTED["password"]
    assert Path(kafka["ssl.ca.location"]).read_text() == MOUNTED["ca.crt"]
    assert cluster.registry_config()["basic.auth.user.info"] == MOUNTED["user-info"]
    # Only the files are in the manifests, never the values.
    assert not {"KAFKA_SASL_PASSWORD", "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"} & set(env)


@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_dev_pods_talk_plaintext_with_no_secret_mounted(
    kind: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = _render("dev")
    workload = _workload(manifests, kind, name)
    env = _pod_environment(manifests, workload, tmp_path)

    cluster = _cluster_settings(env, monkeypatch)

    assert cluster.kafka_config()["security.protocol"] == "PLAINTEXT"
    assert _secret_volumes(workload) == {}
    assert list(of_kind(manifests, "KafkaUser")) == []


@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_each_prod_workload_mounts_the_secret_of_its_own_kafka_user(kind: str, name: str) -> None:
    manifests = _render("prod")
    workload = _workload(manifests, kind, name)
    env = {
        e["name"]: e.get("value")
        for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    password_dir = str(Path(env["KAFKA_SASL_PASSWORD_FILE"]).parent)

    # Strimzi writes a SCRAM user's password into the Secret named after it, key `password`.
    secret = _secret_volumes(workload)[password_dir]
    assert secret["secretName"] == env["KAFKA_SASL_USERNAME"] == name
    assert secret["password"] == Path(env["KAFKA_SASL_PASSWORD_FILE"]).name
    user = _workload(manifests, "KafkaUser", name)
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"


@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_prod_trusts_the_strimzi_cluster_ca(kind: str, name: str) -> None:
    manifests = _render("prod")
    workload = _workload(manifests, kind, name)
    env = {
        e["name"]: e.get("value")
        for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    clusters = {
        u["metadata"]["labels"]["strimzi.io/cluster"] for u in of_kind(manifests, "KafkaUser")
    }
    assert len(clusters) == 1

    ca = _secret_volumes(workload)[str(Path(env["KAFKA_SSL_CA_LOCATION"]).parent)]

    assert ca == {"secretName": f"{clusters.pop()}-cluster-ca-cert", "ca.crt": "ca.crt"}


def test_prod_users_are_one_per_role() -> None:
    users = {u["metadata"]["name"] for u in of_kind(_render("prod"), "KafkaUser")}
    assert users == {"keel-worker", "keel-publisher", "keel-scheduler", "keel-dispatcher"}


def test_the_worker_user_reads_the_group_the_worker_joins() -> None:
    manifests = _render("prod")
    worker = _workload(manifests, "KafkaUser", "keel-worker")
    groups = [
        acl["resource"]["name"]
        for acl in worker["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "group"
    ]
    assert groups == [worker_env(manifests)["KEEL_WORKER_GROUP_ID"]]


def _worker_settings_file(name: str) -> str:
    return next(
        line.split("=", 1)[1]
        for line in (K8S / "base" / "worker.env").read_text().splitlines()
        if line.startswith(f"{name}=")
    )


def test_the_kafka_users_are_what_keel_deploy_users_generates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As the file's header says: the routes and the group the worker is deployed with.
    for name in ("KEEL_ROUTES", "KEEL_WORKER_GROUP_ID"):
        monkeypatch.setenv(name, _worker_settings_file(name))

    generated = CliRunner().invoke(app, ["deploy", "users"])

    assert generated.exit_code == 0, generated.output
    assert (SECURED / "kafkausers.yaml").read_text() == generated.stdout


def test_keel_deploy_users_without_a_group_prints_no_manifests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEL_ROUTES", _worker_settings_file("KEEL_ROUTES"))
    monkeypatch.delenv("KEEL_WORKER_GROUP_ID", raising=False)

    generated = CliRunner().invoke(app, ["deploy", "users"])

    assert generated.exit_code == 2
    assert generated.stdout == ""
    assert "KEEL_WORKER_GROUP_ID" in generated.stderr


def _granted(acls: list[Acl]) -> set[tuple[str, str, str]]:
    return {(a.resource, a.name, op) for a in acls for op in a.operations}


def test_a_worker_reads_its_topics_and_group_and_writes_only_dead_letters_quarantine_beats() -> (
    None
):
    granted = _granted(worker_acls(["jobs.a"], "billing"))

    assert granted == {
        ("topic", "jobs.a", "Read"),
        ("topic", "jobs.a", "Describe"),
        ("group", "billing", "Read"),
        ("topic", "jobs.a.dlt", "Write"),
        ("topic", "jobs.a.dlt", "Describe"),
        ("topic", "keel.quarantine.billing", "Read"),
        ("topic", "keel.quarantine.billing", "Write"),
        ("topic", "keel.quarantine.billing", "Describe"),
        ("topic", "keel.quarantine.billing", "Create"),
        ("topic", "keel.workers", "Write"),
        ("topic", "keel.workers", "Describe"),
        ("topic", "keel.workers", "Create"),
    }


def test_a_publisher_writes_the_job_topics_and_nothing_else() -> None:
    granted = _granted(publisher_acls(["jobs.a", "jobs.b"]))

    assert {op for _, _, op in granted} == {"Write", "Describe"}
    assert {name for _, name, _ in granted} == {"jobs.a", "jobs.b"}


def test_a_publisher_may_put_jobs_off_and_cancel_them_but_not_read_them() -> None:
    granted = _granted(put_off_acls(DelayedNames("keel.delayed")))

    assert granted == {
        ("topic", "keel.delayed", "Write"),
        ("topic", "keel.delayed", "Describe"),
        ("topic", "keel.delayed.cancels", "Write"),
        ("topic", "keel.delayed.cancels", "Describe"),
    }


def test_the_prod_publisher_user_may_put_off_into_the_topics_the_dispatcher_reads() -> None:
    manifests = _render("prod")
    publisher = _workload(manifests, "KafkaUser", "keel-publisher")
    dispatcher = _workload(manifests, "KafkaUser", "keel-dispatcher")
    written = {
        acl["resource"]["name"]
        for acl in publisher["spec"]["authorization"]["acls"]
        if "Write" in acl["operations"]
    }
    read = {
        acl["resource"]["name"]
        for acl in dispatcher["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and "Read" in acl["operations"]
    }
    # What the dispatcher reads (the delayed topic and its cancels) a publisher may write.
    assert read == {"keel.delayed", "keel.delayed.cancels"}
    assert read <= written


def test_a_scheduler_may_use_exactly_its_own_state_group_and_transactional_id() -> None:
    scheduler = Scheduler("billing")

    granted = _granted(scheduler_acls(scheduler, ["jobs.a"]))

    assert ("topic", "jobs.a", "Write") in granted
    state = scheduler.state_topic
    assert {("topic", state, op) for op in ("Read", "Write", "Describe")} <= granted
    assert ("group", scheduler.group, "Read") in granted
    assert ("transactionalId", scheduler.transactional_id, "Write") in granted
    assert ("transactionalId", scheduler.transactional_id, "Describe") in granted
    assert not any(op in {"Create", "Delete", "Alter", "All"} for _, _, op in granted)


def test_no_overlay_commits_a_secret() -> None:
    # The Secrets are made outside git; the component names them and mounts them, nothing more.
    for overlay in OVERLAYS:
        assert list(of_kind(_render(overlay), "Secret")) == []


def test_prod_lag_triggers_sign_in_as_the_worker() -> None:
    manifests = _render("prod")
    auths = {a["metadata"]["name"]: a["spec"] for a in of_kind(manifests, "TriggerAuthentication")}
    worker = _workload(manifests, "StatefulSet", "keel-worker")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    secrets = {v["secretName"]: v for v in _secret_volumes(worker).values()}

    triggers = next(iter(of_kind(manifests, "ScaledObject")))["spec"]["triggers"]
    for trigger in triggers:
        assert (trigger["metadata"]["sasl"], trigger["metadata"]["tls"]) == (
            "scram_sha512",
            "enable",
        )
        auth = auths[trigger["authenticationRef"]["name"]]
        [username] = auth["env"]
        assert (username["name"], username["containerName"]) == (
            "KAFKA_SASL_USERNAME",
            container["name"],
        )
        # The scaler reads the same Secrets, by the same keys, as the worker's pods.
        for ref in auth["secretTargetRef"]:
            assert ref["key"] in secrets[ref["name"]]
