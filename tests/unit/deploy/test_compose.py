"""deploy/compose.yaml: valid by the Compose Specification, and its services can all come up.

The specification's JSON schema is the one check-jsonschema (PyPI) vendors from the
compose-spec project; `jsonschema` does the validating.
"""

import copy
import json
import re
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import yaml

from keel.consumers.shutdown import TERMINATION_MARGIN
from keel.deploy.local.artifacts import APICURIO_VERSION, KAFKA_VERSION
from keel.producers.demo import DEMO_ROUTES
from keel.producers.settings import ProducerSettings
from tests.support.deploy import DEPLOY, REPO

COMPOSE = DEPLOY / "compose.yaml"
_CREATE = re.compile(r"create (\S+) (\d+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE.open() as stream:
        loaded: dict[str, Any] = yaml.safe_load(stream)
    return loaded


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    vendored = files("check_jsonschema.builtin_schemas") / "vendor" / "compose-spec.json"
    schema = json.loads(vendored.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, duration
    return sum(float(n) * units[unit] for n, unit in parts)


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_specification_rejects_a_misspelt_compose_file(
    compose: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["depends_on"]["registry"]["condition"] = "service_up"
    broken["services"]["kafka"]["healthchek"] = broken["services"]["kafka"].pop("healthcheck")
    assert len(list(validator.iter_errors(broken))) >= 2


def test_every_dependency_condition_can_be_met(compose: dict[str, Any]) -> None:
    services = compose["services"]
    dockerfile_checks = "HEALTHCHECK" in (DEPLOY / "Dockerfile").read_text()
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            other = services[target]
            if dependency["condition"] == "service_healthy":
                built_here = other.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
                assert "healthcheck" in other or (built_here and dockerfile_checks), target
            if dependency["condition"] == "service_completed_successfully":
                assert other.get("restart") == "no", f"{target} must run once and exit"


def test_build_context_is_the_repository(compose: dict[str, Any]) -> None:
    build = compose["services"]["worker"]["build"]
    assert (COMPOSE.parent / build["context"]).resolve() == REPO
    assert (REPO / build["dockerfile"]).is_file()


def test_images_are_the_versions_the_local_stack_runs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services["registry"]["image"] == f"apicurio/apicurio-registry:{APICURIO_VERSION}"


def test_worker_is_stopped_only_after_its_drain(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    bound = float(worker["environment"]["KEEL_WORKER_SHUTDOWN_TIMEOUT"])
    assert _seconds(worker["stop_grace_period"]) >= bound + TERMINATION_MARGIN


def test_host_ports_bind_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_compose_creates_topics_with_keels_own_command(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]

    assert topics["entrypoint"] == ["keel", "topics", "ensure"]
    assert topics["image"] == compose["services"]["worker"]["image"]


def test_topics_worker_and_producer_share_the_demo_routes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("topics", "worker", "producer"):
        routes = json.loads(services[name]["environment"]["KEEL_ROUTES"])
        assert ProducerSettings(routes=routes).routes == DEMO_ROUTES, name
