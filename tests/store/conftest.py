"""Fixtures for the state-store tests: ``store`` runs a test on every backend.

The etcd backends run against real clusters (one member, three members), in the ``system``
tier; each test gets a key prefix of its own in the session's cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from libnet.store import EtcdStore, MemoryStore, SqliteStore, Store

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("etcd1", marks=pytest.mark.system),
    pytest.param("etcd3", marks=pytest.mark.system),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend."""
    backend: Store
    if request.param == "memory":
        backend = MemoryStore()
    elif request.param == "sqlite":
        backend = SqliteStore(tmp_path)
    else:
        cluster = request.getfixturevalue(request.param)
        backend = EtcdStore(cluster.url(f"test-{uuid.uuid4().hex[:12]}"))
    with backend:
        yield backend
