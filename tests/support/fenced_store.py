"""A downstream store that refuses stale writes: the fencing token's conditional write.

The store is a SQLite table behind a small TCP server in the test process, so that a worker
frozen mid-write holds no lock another worker waits on (as with any networked database, the
zombie's only power is to send a request late). Each request is one line,
`key seq generation offset pid`; the answer is `1` (written) or `0` (refused: the row already
holds a higher fence). The SQL is the one docs/guarantees.md shows.
"""

import socketserver
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

SCHEMA = """
CREATE TABLE state (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    fence_generation INTEGER NOT NULL,
    fence_offset INTEGER NOT NULL
)
"""
# Write the key's state only if the stored fence is lower than this run's (or there is none).
FENCED_WRITE = """
INSERT INTO state (key, seq, fence_generation, fence_offset)
VALUES (:key, :seq, :generation, :offset)
ON CONFLICT (key) DO UPDATE
SET seq = excluded.seq,
    fence_generation = excluded.fence_generation,
    fence_offset = excluded.fence_offset
WHERE (state.fence_generation, state.fence_offset)
    < (excluded.fence_generation, excluded.fence_offset)
"""


@dataclass(frozen=True)
class Write:
    """One write the store was asked for, and whether it went through."""

    key: str
    seq: int
    generation: int
    offset: int
    pid: int
    written: bool
    at_ns: int  # monotonic, when the store answered


class FencedStore:
    """The table, one writer at a time, and every write it was asked for."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()
        self.writes: list[Write] = []

    def write(self, key: str, seq: int, generation: int, offset: int, pid: int) -> bool:
        values = {"key": key, "seq": seq, "generation": generation, "offset": offset}
        with self._lock:
            written = self._db.execute(FENCED_WRITE, values).rowcount == 1
            self.writes.append(
                Write(key, seq, generation, offset, pid, written, time.monotonic_ns())
            )
        return written

    def state(self) -> dict[str, int]:
        """The seq each key's row holds now."""
        with self._lock:
            return dict(self._db.execute("SELECT key, seq FROM state").fetchall())


class _Requests(socketserver.StreamRequestHandler):
    server: "_Server"

    def handle(self) -> None:
        for line in self.rfile:
            key, seq, generation, offset, pid = line.decode().split()
            written = self.server.store.write(key, int(seq), int(generation), int(offset), int(pid))
            self.wfile.write(b"1\n" if written else b"0\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store: FencedStore) -> None:
        super().__init__(("127.0.0.1", 0), _Requests)
        self.store = store


@contextmanager
def serving() -> Iterator[tuple[FencedStore, str]]:
    """A store and the `host:port` it answers on, until the block ends."""
    store = FencedStore()
    server = _Server(store)
    thread = threading.Thread(target=server.serve_forever, name="fenced-store", daemon=True)
    thread.start()
    host, port = cast(tuple[str, int], server.server_address)  # bound to an IPv4 address
    try:
        yield store, f"{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
