"""Checking that a port is free before a server tries to bind it, and saying who holds it."""

import random
import socket

import psutil

from keel.deploy.local.errors import PortInUseError
from keel.deploy.local.settings import EPHEMERAL_PORT_START

_PICK_FROM = 20000


def is_free(port: int) -> bool:
    """Whether a server could listen on the port now.

    SO_REUSEADDR, as the JVM servers bind with it: connections of a stopped server lingering in
    TIME_WAIT do not make its port busy, a listening socket does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def require_free(port: int, purpose: str) -> None:
    if not is_free(port):
        raise PortInUseError(f"port {port} ({purpose}) is in use{_owner_of(port)}")


def pick_free_ports(count: int) -> list[int]:
    """Distinct free ports below the ephemeral range, for tests that start their own servers."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randrange(_PICK_FROM, EPHEMERAL_PORT_START)  # noqa: S311 - not crypto
        if port not in chosen and is_free(port):
            chosen.append(port)
    return chosen


def _owner_of(port: int) -> str:
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return ""
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.pid is not None:
            return f" by pid {conn.pid} ({_describe(conn.pid)})"
    return ""


def _describe(pid: int) -> str:
    try:
        process = psutil.Process(pid)
        return " ".join(process.cmdline())[:160] or process.name()
    except psutil.Error:
        return "unknown process"
