"""The local stack's lifecycle, on its own ports and data directory."""

import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from deploy.local import LocalStack, LocalStackSettings
from deploy.local.errors import PortInUseError
from deploy.local.ports import pick_free_ports

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    broker, controller, registry, management = pick_free_ports(4)
    settings = LocalStackSettings(
        broker_port=broker,
        controller_port=controller,
        registry_port=registry,
        registry_management_port=management,
        data_dir=tmp_path / "stack",
    )
    instance = LocalStack(settings)
    yield instance
    instance.stop()


def _our_jvms(stack: LocalStack) -> list[psutil.Process]:
    markers = {server.marker for server in stack.servers().values()}
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if markers & set(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_start_twice_then_stop_leaves_no_jvm(stack: LocalStack) -> None:
    first = stack.start()
    second = stack.start()

    assert all(status.ready for status in first)
    assert [s.pid for s in second] == [s.pid for s in first]
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
