"""A dispatcher's `/livez`, `/readyz` and `/metrics` over HTTP, on a thread of its own.

- `GET /livez`   200 while the dispatcher's loop has turned lately (a loop stuck for
                 `LIVE_WINDOW_S` fails it, and Kubernetes restarts the pod).
- `GET /readyz`  200 once the loop has turned, while the process stands by or leads with its
                 term open; 503 while the group says it leads but no term is open.
- `GET /metrics` the Prometheus text format (prometheus.py).

The worker's endpoints answer the same way (`keel.consumers.telemetry.health`), but that server
runs on the worker's event loop, and imports point from consumers to producers, never back: the
dispatcher has no event loop, so the standard library's threaded server answers here.
"""

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from keel.producers.delayed.prometheus import CONTENT_TYPE, DispatcherMetricsView
from keel.producers.delayed.status import DispatcherStatus

_LOG = logging.getLogger(__name__)
Answer = tuple[int, str, str]


class HealthServer:
    """Serves a dispatcher's status until `close()`; `port` is the port it listens on."""

    def __init__(self, status: DispatcherStatus, host: str, port: int) -> None:
        view = DispatcherMetricsView(status)
        routes: dict[str, Callable[[], Answer]] = {
            "/livez": lambda: _probe(status.live(), status),
            "/readyz": lambda: _probe(status.ready(), status),
            "/metrics": lambda: (200, CONTENT_TYPE, view.render()),
        }
        self._server = ThreadingHTTPServer((host, port), _handler(routes))
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "HealthServer":
        self._thread.start()
        _LOG.info("health on http://%s:%d (/livez /readyz /metrics)", *self._address())
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)


def _probe(ok: bool, status: DispatcherStatus) -> Answer:
    detail = {"leading": status.leading, "term_open": status.term_open}
    return (200 if ok else 503), "application/json", json.dumps(detail) + "\n"


def _handler(routes: dict[str, Callable[[], Answer]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            code, kind, body = route() if route else (404, "text/plain", "not found\n")
            payload = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            _LOG.debug(format, *args)

    return Handler
