"""One Kafka wherever a test session gets its broker: the local stack's, or a container."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

import keel.deploy.local
from keel.deploy.local.artifacts import KAFKA_VERSION
from keel.deploy.local.broker import LocalBroker
from keel.deploy.local.settings import LocalStackSettings
from tests.support.kafka_container import KAFKA_IMAGE, container_environment

POM = Path(keel.deploy.local.__file__).with_name("pom.xml")
MAVEN = {"m": "http://maven.apache.org/POM/4.0.0"}


def pom_kafka_version() -> str | None:
    """The `kafka.version` property of the local stack's pom."""
    pom = ElementTree.parse(POM).getroot()  # noqa: S314 (the repository's own file)
    return pom.findtext("m:properties/m:kafka.version", None, MAVEN)


def test_the_pom_holds_the_kafka_version_keel_passes_to_it() -> None:
    assert pom_kafka_version() == KAFKA_VERSION
    assert int(KAFKA_VERSION.split(".")[0]) >= 4  # KIP-848 consumer groups need Kafka 4


def test_containers_run_the_official_image_of_the_local_stack_s_kafka() -> None:
    image, version = KAFKA_IMAGE.split(":")
    assert (image, version) == ("apache/kafka", pom_kafka_version())


@pytest.fixture
def local_properties(tmp_path: Path) -> dict[str, str]:
    return LocalBroker(LocalStackSettings(data_dir=tmp_path)).properties()


def test_the_container_broker_has_the_local_stack_s_properties(
    local_properties: dict[str, str],
) -> None:
    environment = container_environment(local_properties)

    for key in ("transaction.state.log.min.isr", "auto.create.topics.enable", "num.partitions"):
        variable = "KAFKA_" + key.upper().replace(".", "_")
        assert environment[variable] == local_properties[key]
    assert environment["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"


def test_the_container_broker_is_placed_in_its_container_not_on_the_host(
    local_properties: dict[str, str], tmp_path: Path
) -> None:
    environment = container_environment(local_properties)

    assert environment["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "127.0.0.1" not in environment["KAFKA_LISTENERS"]
    assert "KAFKA_ADVERTISED_LISTENERS" not in environment  # the start command sets them
    assert not [value for value in environment.values() if str(tmp_path) in value]
    assert len(environment["CLUSTER_ID"]) == 22  # a UUID in URL-safe base64, as the image wants


def test_a_property_the_image_cannot_read_from_a_plain_name_is_refused() -> None:
    with pytest.raises(ValueError, match="letters and dots"):
        container_environment({"some_property": "1"})
