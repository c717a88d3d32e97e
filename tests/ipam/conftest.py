"""Fixtures for the IPAM tests: ``ipam`` runs a test on every store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from libnet.ipam import DefaultIpam
from libnet.store import MemoryStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend."""
    store: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "state")
    with store:
        yield store


@pytest.fixture
def ipam(backend: Store) -> DefaultIpam:
    """A default IPAM driver on a fresh store of each backend."""
    return DefaultIpam(backend)
