"""A process's full collections land in its collection log, and only while it is installed."""

import gc
import os
from pathlib import Path

from keel.load.collections_log import CollectionLog, read_collections


def test_a_full_collection_is_logged_with_its_process(tmp_path: Path) -> None:
    log = CollectionLog(tmp_path / "collections.gc", slowest_ms=1000.0)
    log.install()
    try:
        gc.collect()
    finally:
        log.close()

    found = list(read_collections([tmp_path / "collections.gc"]))

    assert [(c.generation, c.pid) for c in found] == [(2, os.getpid())]
    assert found[0].duration_ns > 0
    assert found[0].ended_ns > found[0].began_ns


def test_a_young_collection_faster_than_the_bound_is_not_logged(tmp_path: Path) -> None:
    log = CollectionLog(tmp_path / "collections.gc", slowest_ms=1000.0)
    log.install()
    try:
        gc.collect(0)
    finally:
        log.close()

    assert list(read_collections([tmp_path / "collections.gc"])) == []


def test_nothing_is_logged_once_closed(tmp_path: Path) -> None:
    log = CollectionLog(tmp_path / "collections.gc")
    log.install()
    log.close()

    gc.collect()

    assert (tmp_path / "collections.gc").read_text() == ""
