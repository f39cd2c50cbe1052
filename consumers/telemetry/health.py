"""Liveness, readiness and metrics over HTTP, served on the worker's event loop.

- `GET /livez`   200 while the poll thread has polled recently (a stuck loop fails it).
- `GET /readyz`  200 once partitions were assigned, while not draining, and while every
                 dead-letter write goes through; 503 with the reason otherwise.
- `GET /metrics` the Prometheus text format.

A tiny HTTP/1.0 responder on `asyncio.start_server`: one request per connection, which is all
probes and scrapers need.
"""

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)
_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


@dataclass(frozen=True)
class Probe:
    """A probe's answer: healthy or not, and why."""

    ok: bool
    detail: dict[str, object]


class HealthServer:
    """Serves the three endpoints from callables the runner supplies."""

    def __init__(
        self,
        live: Callable[[], Probe],
        ready: Callable[[], Probe],
        metrics: Callable[[], str],
        metrics_type: str = "text/plain; version=0.0.4",
    ) -> None:
        self._routes: dict[str, Callable[[], tuple[int, str, str]]] = {
            "/livez": lambda: _probe(live()),
            "/readyz": lambda: _probe(ready()),
            "/metrics": lambda: (200, metrics_type, metrics()),
        }
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        _LOG.info("health on http://%s:%d (/livez /readyz /metrics)", host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = request.split(b" ", 2)
            path = parts[1].decode("ascii", "replace") if len(parts) > 1 else "/"
            route = self._routes.get(path.split("?", 1)[0])
            status, kind, body = route() if route else (404, "text/plain", "not found\n")
            payload = body.encode()
            head = (
                f"HTTP/1.0 {status} {_REASONS[status]}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _probe(probe: Probe) -> tuple[int, str, str]:
    return (200 if probe.ok else 503), "application/json", json.dumps(probe.detail) + "\n"
