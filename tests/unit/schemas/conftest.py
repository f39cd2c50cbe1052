"""The cluster settings' tests start from an environment that names no cluster setting."""

import os

import pytest

_CLUSTER_PREFIXES = ("KAFKA_", "SCHEMA_REGISTRY_")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No `KAFKA_*` or `SCHEMA_REGISTRY_*` variable: each test sets its own."""
    for name in list(os.environ):
        if name.startswith(_CLUSTER_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch
