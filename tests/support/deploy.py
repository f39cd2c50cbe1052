"""The deployment artifacts under deploy/, loaded for the tests that check them.

kustomize and hadolint are found in the virtualenv first (`make install` puts them there), then
on the PATH. A test that needs a missing tool fails and names the install step: a skip would let
the suite pass with the manifests unchecked.
"""

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from keel.producers.delayed.names import DelayedNames
from keel.producers.settings import ProducerSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
DASHBOARD = DEPLOY / "grafana" / "keel-worker.json"
OVERLAYS = ("dev", "prod")
# The Kubernetes release the manifests are validated against (kubernetes-validate's schemas).
KUBERNETES_VERSION = "1.33.0"
# Dead-letter topic of T is T.dlt (`keel.schemas.topics.dead_letter_topic`).
DEAD_LETTER_SUFFIX = ".dlt"

Manifest = dict[str, Any]
DEFAULT_DELAYED_TOPIC: str = ProducerSettings.model_fields["delayed_topic"].default


def tool(name: str) -> Path | None:
    """The executable `name` from this virtualenv's bin, else from the PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return beside_python
    found = shutil.which(name)
    return Path(found) if found else None


def required_tool(name: str, installed_by: str) -> Path:
    """`tool(name)`, or the test fails saying what installs it."""
    found = tool(name)
    if found is None:
        pytest.fail(f"{name} is missing: {installed_by}")
    return found


def render(overlay: str) -> list[Manifest]:
    """`kustomize build deploy/k8s/overlays/<overlay>`, parsed."""
    kustomize = required_tool("kustomize", "`make install` builds it (needs a Go toolchain)")
    built = subprocess.run(
        [str(kustomize), "build", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def load_all(path: Path) -> list[Manifest]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def of_kind(manifests: list[Manifest], kind: str) -> Iterator[Manifest]:
    return (m for m in manifests if m["kind"] == kind)


def one(manifests: list[Manifest], kind: str) -> Manifest:
    """The single manifest of `kind`; fails the test if there are none or several."""
    found = list(of_kind(manifests, kind))
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def worker_env(manifests: list[Manifest]) -> dict[str, str]:
    """The worker's environment from its ConfigMap(s): the settings the pods start with."""
    statefulset = one(manifests, "StatefulSet")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    names = {
        source["configMapRef"]["name"]
        for source in container.get("envFrom", [])
        if "configMapRef" in source
    }
    env: dict[str, str] = {}
    for config_map in of_kind(manifests, "ConfigMap"):
        if config_map["metadata"]["name"] in names:
            env.update(config_map["data"])
    return env


def compacted(topic: Manifest) -> bool:
    """A topic that keeps the latest record per key: a scheduler's state, never jobs."""
    return bool(topic["spec"].get("config", {}).get("cleanup.policy") == "compact")


def internal(topic: Manifest) -> bool:
    """A topic keel keeps for itself, never jobs: a scheduler's state (compacted), the delayed
    topic and its cancels (compacted, and deleted after the longest delay)."""
    policy = str(topic["spec"].get("config", {}).get("cleanup.policy", "delete"))
    name = topic["spec"]["topicName"]
    return "compact" in policy.split(",") or name == DelayedNames(DEFAULT_DELAYED_TOPIC).topic


def job_topics(topics: list[Manifest]) -> dict[str, int]:
    """Job topics (not dead-letter topics, not keel's own) with their partitions."""
    return {
        t["spec"]["topicName"]: t["spec"]["partitions"]
        for t in topics
        if not t["spec"]["topicName"].endswith(DEAD_LETTER_SUFFIX) and not internal(t)
    }


KEEL_METRIC = re.compile(r"\bkeel_[a-z_]+\b")
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's panels, without its rows."""
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _family(series: str) -> str:
    """The metric family of a series name: a histogram's _bucket/_sum/_count belong to it."""
    for suffix in _HISTOGRAM_SERIES:
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def queried_metrics(dashboard: dict[str, Any]) -> set[str]:
    """Every keel metric family the dashboard's queries and variables read."""
    texts = [t["expr"] for p in panels(dashboard) for t in p["targets"]]
    texts += [str(v.get("definition", "")) for v in dashboard["templating"]["list"]]
    return {_family(name) for text in texts for name in KEEL_METRIC.findall(text)}


def documented_metrics() -> set[str]:
    """The metric names in the table under "## Metrics" in deploy/README.md."""
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(keel_[a-z_]+)`", section, re.MULTILINE))
