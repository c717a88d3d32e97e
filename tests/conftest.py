"""Fixtures shared by the core tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import _drivers
import pytest
from _dists import FakeDists

# pytester runs sub-sessions for tests/testing; libnet.testing's fixtures serve them too.
pytest_plugins = ["pytester", "libnet.testing"]

LIBNET_ENV = (
    "LIBNET_PLUGINS",
    "LIBNET_DISABLE_PLUGINS",
    "LIBNET_STRICT_PLUGINS",
    "LIBNET_PLUGIN_TIMEOUT",
)

SYSTEM_TIERS = frozenset({"netns", "docker", "cni"})
"""Test folders that drive the host's kernel or a Docker Engine: marked ``system``, so tox
runs them once (under one Python) instead of under every interpreter."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        try:
            parts = item.path.relative_to(here).parts
        except ValueError:
            continue
        if parts and parts[0] in SYSTEM_TIERS:
            item.add_marker(pytest.mark.system)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the caller's plugin settings or another test's plugin events."""
    for name in LIBNET_ENV:
        monkeypatch.delenv(name, raising=False)
    # No Docker plugin left in /run/docker/plugins by another run changes what tests see.
    monkeypatch.setenv("LIBNET_PLUGIN_DIRS", "")
    _drivers.EVENTS.clear()


@pytest.fixture
def dists(tmp_path: Path) -> Iterator[FakeDists]:
    """Install fake distributions for this test only (see :mod:`_dists`)."""
    fake = FakeDists(tmp_path / "dists")
    yield fake
    fake.close()


@pytest.fixture
def events() -> list[str]:
    """What plugin modules recorded: ``import MODULE`` and ``init MODULE``, in order."""
    return _drivers.EVENTS
