"""Fixtures for the state-store tests: ``store`` runs a test on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from libnet.store import MemoryStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend."""
    backend: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path)
    with backend:
        yield backend
