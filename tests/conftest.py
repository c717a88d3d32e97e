"""Fixtures shared by the core tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import _drivers
import pytest
from _dists import FakeDists
from _etcd import ETCD, SKIP_REASON, EtcdCluster

# pytester runs sub-sessions for tests/testing; libnet.testing's fixtures serve them too.
pytest_plugins = ["pytester", "libnet.testing"]

LIBNET_ENV = (
    "LIBNET_PLUGINS",
    "LIBNET_DISABLE_PLUGINS",
    "LIBNET_STRICT_PLUGINS",
    "LIBNET_PLUGIN_TIMEOUT",
)

SYSTEM_TIERS = frozenset({"netns", "docker", "etcd"})
"""Test folders that drive the host's kernel, a Docker Engine or etcd clusters: marked
``system``, so tox runs them once (under one Python) instead of under every interpreter."""


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


# Real etcd clusters (see _etcd.py); tests needing one skip where etcd is not installed.


def _etcd(base: Path, size: int) -> Iterator[EtcdCluster]:
    if ETCD is None:
        pytest.skip(SKIP_REASON)
    cluster = EtcdCluster(base, size)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def etcd1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """A one-member etcd cluster shared by the session: give each test its own key prefix."""
    yield from _etcd(tmp_path_factory.mktemp("etcd1"), 1)


@pytest.fixture(scope="session")
def etcd3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """A three-member etcd cluster shared by the session: give each test its own key prefix."""
    yield from _etcd(tmp_path_factory.mktemp("etcd3"), 3)


@pytest.fixture
def new_etcd(tmp_path: Path) -> Iterator[Callable[..., EtcdCluster]]:
    """Start etcd clusters of the given size for this test alone (to kill, restart, secure).

    ``new_etcd(3)``; ``new_etcd(1, tls=True)`` serves clients over HTTPS with a client
    certificate required.
    """
    if ETCD is None:
        pytest.skip(SKIP_REASON)
    clusters: list[EtcdCluster] = []

    def start(size: int, *, tls: bool = False) -> EtcdCluster:
        if tls and shutil.which("openssl") is None:
            pytest.skip("openssl is not installed: it makes the TLS tests' certificates")
        cluster = EtcdCluster(tmp_path / f"etcd{len(clusters)}", size, tls=tls)
        clusters.append(cluster)
        return cluster.start()

    try:
        yield start
    finally:
        for cluster in clusters:
            cluster.stop()
