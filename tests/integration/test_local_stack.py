"""The local stack's lifecycle, on its own ports and data directory."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from keel.deploy.local import LocalStack, LocalStackSettings
from keel.deploy.local.errors import PortInUseError, ServerStartError
from keel.deploy.local.ports import pick_free_ports
from tests.support.consume import record_count
from tests.support.topics import create_topic, unique_name

pytestmark = pytest.mark.slow


def _settings(data_dir: Path, broker_heap_mb: int = 512) -> LocalStackSettings:
    broker, controller, registry, management = pick_free_ports(4)
    return LocalStackSettings(
        broker_port=broker,
        controller_port=controller,
        registry_port=registry,
        registry_management_port=management,
        data_dir=data_dir,
        broker_heap_mb=broker_heap_mb,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    instance = LocalStack(_settings(tmp_path / "stack"))
    yield instance
    instance.stop()


def _our_jvms(stack: LocalStack) -> list[psutil.Process]:
    markers = {server.marker for server in stack.servers().values()}
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if markers & set(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_start_twice_restart_the_broker_then_stop_leaves_no_jvm(stack: LocalStack) -> None:
    first = stack.start()
    second = stack.start()

    assert all(status.ready for status in first)
    assert [s.pid for s in second] == [s.pid for s in first]
    assert len(_our_jvms(stack)) == 2

    # A broker restart (the chaos-restart-broker fault) keeps the registry and the data.
    bootstrap = stack.settings.bootstrap_servers
    topic = create_topic(AdminClient({"bootstrap.servers": bootstrap}), unique_name("kept"))
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, b"before the restart")
    assert producer.flush(30) == 0
    restarted = stack.restart_broker()
    assert all(status.ready for status in restarted)
    assert restarted[0].pid != first[0].pid
    assert restarted[1].pid == first[1].pid
    assert record_count(bootstrap, topic) == 1
    assert len(_our_jvms(stack)) == 2

    assert stack.stop() == ["registry", "broker"]
    assert _our_jvms(stack) == []
    assert [s.pid for s in stack.status()] == [None, None]


def test_start_names_the_port_that_is_taken(stack: LocalStack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.settings.registry_port))
        squatter.listen()

        with pytest.raises(PortInUseError, match=str(stack.settings.registry_port)) as refused:
            stack.start()

    assert "schema registry HTTP" in str(refused.value)
    assert f"pid {psutil.Process().pid}" in str(refused.value)
    assert _our_jvms(stack) == []


def test_a_server_that_dies_during_start_shows_its_log_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    # A 1 MB heap is too small for the JVM to boot: a real server that exits at once.
    stack = LocalStack(_settings(tmp_path / "stack", broker_heap_mb=1))

    with pytest.raises(ServerStartError, match="broker exited during start") as failed:
        stack.start()

    assert "broker.log" in str(failed.value)
    assert "heap" in str(failed.value).lower()
    assert _our_jvms(stack) == []


def test_a_test_sessions_servers_die_with_the_process_that_started_them(tmp_path: Path) -> None:
    # Given a process that starts a stack tied to it and is then killed without any teardown
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from keel.deploy.local import private_stack\n"
        "with private_stack(Path(sys.argv[1])) as stack:\n"
        "    print([s.pid for s in stack.status()], flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "stack")], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    pids = [int(p) for p in child.stdout.readline().strip("[]\n").split(",")]
    assert all(psutil.pid_exists(pid) for pid in pids)

    # When it dies by SIGKILL
    child.kill()
    child.wait()
    child.stdout.close()

    # Then its broker and registry are gone too
    gone, alive = psutil.wait_procs([psutil.Process(pid) for pid in pids], timeout=30)
    assert alive == []
    assert len(gone) == 2
