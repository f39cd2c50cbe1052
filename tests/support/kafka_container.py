"""Apache Kafka in a container, for a test session where a Docker engine answers.

The official `apache/kafka` image at the local stack's version (`KAFKA_VERSION`, the value keel
passes to deploy/local/pom.xml), configured with the local stack's own broker properties: a test
meets the same broker whichever way the session got one (KIP-848 consumer groups, for one, need
Kafka 4). Only where the node sits (listeners, roles, data directory) is set here.

The image reads `KAFKA_*` variables as server properties. The address the broker advertises is
the port Docker maps on the host, known only once the container runs, so the container waits for
a file naming it; the file is written, whole, after start.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from confluent_kafka.admin import AdminClient

from keel.deploy.local.artifacts import KAFKA_VERSION
from keel.deploy.local.broker import new_cluster_id
from tests.support.waiting import wait_until

KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION}"

_HOST_PORT = 9092  # clients on the host, through the port Docker maps
_BROKER_PORT = 9093  # the broker to itself, inside the container
_CONTROLLER_PORT = 9094
_ADVERTISED = "/tmp/keel-advertised"  # noqa: S108 (a path inside the container)
_WAIT_THEN_RUN = (
    f"while [ ! -f {_ADVERTISED} ]; do sleep 0.1; done; "
    "export KAFKA_ADVERTISED_LISTENERS="
    f'"$(cat {_ADVERTISED}),BROKER://$(hostname):{_BROKER_PORT}"; '
    "exec /etc/kafka/docker/run"
)
_PLACEMENT = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.voters": f"1@localhost:{_CONTROLLER_PORT}",
    "listeners": f"HOST://0.0.0.0:{_HOST_PORT},BROKER://0.0.0.0:{_BROKER_PORT},"
    f"CONTROLLER://0.0.0.0:{_CONTROLLER_PORT}",
    "listener.security.protocol.map": "HOST:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "BROKER",
    "controller.listener.names": "CONTROLLER",
    "log.dirs": "/var/lib/kafka/data",
}


def container_environment(properties: Mapping[str, str]) -> dict[str, str]:
    """The image's variables for the local stack's broker `properties`, placed in a container.

    The advertised listeners are left out: the start command sets them (see the module).
    """
    kept = {key: value for key, value in properties.items() if key != "advertised.listeners"}
    return {
        **{_variable(key): value for key, value in (kept | _PLACEMENT).items()},
        "CLUSTER_ID": new_cluster_id(),  # the image formats its storage with it
    }


def _variable(key: str) -> str:
    """`log.dirs` -> `KAFKA_LOG_DIRS`: the image turns each `_` back into a `.`."""
    if "_" in key or "-" in key:  # the image spells these with `__` and `___`: not needed yet
        raise ValueError(f"{key}: only names of letters and dots are spelled here")
    return "KAFKA_" + key.upper().replace(".", "_")


@contextmanager
def apache_kafka(properties: Mapping[str, str], timeout: float = 120.0) -> Iterator[str]:
    """A one-node KRaft Kafka in a container; yields its bootstrap address on the host."""
    # Imported here: testcontainers is only needed, and only importable cleanly, with an engine.
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_exposed_ports(_HOST_PORT)
        .with_envs(**container_environment(properties))
        .with_command(["sh", "-c", _WAIT_THEN_RUN])
    )
    with container:
        host = container.get_container_host_ip()
        bootstrap = f"{host}:{container.get_exposed_port(_HOST_PORT)}"
        # Written aside and moved into place, so the waiting command never reads half of it.
        advertise = f"echo HOST://{bootstrap} > {_ADVERTISED}.part"
        written = container.exec(
            ["sh", "-c", f"{advertise} && mv {_ADVERTISED}.part {_ADVERTISED}"]
        )
        assert written.exit_code == 0, written.output
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        wait_until(lambda: _answers(admin), timeout, f"Kafka in {KAFKA_IMAGE} at {bootstrap}")
        yield bootstrap


def _answers(admin: AdminClient) -> bool:
    """A metadata request answered by the broker, not just an open port."""
    try:
        return bool(admin.list_topics(timeout=1).brokers)
    except Exception:  # any failure here only means "not yet"
        return False
