"""Fixtures shared by the core tests."""

from __future__ import annotations

import os
import shutil
import sys
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

INDEX_MODULES = frozenset(
    {
        "test_discovery",
        "test_plugin_failures",
        "test_ipam_controller",
        "test_driver_config",
        "test_builtin_drivers",
        "test_proxy",
        "test_rollback",
        "test_controller",
        "test_drivers",
        "test_ipam",
    }
)
"""Test modules of discovery and failure isolation: each test runs with the discovery index
cold (scanned at start) and warm (read back from the index)."""

SYSTEM_TIERS = frozenset({"netns", "docker", "cni", "etcd"})
"""Test folders that drive the host's kernel, a Docker Engine, Podman or etcd clusters: marked
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


def pytest_configure(config: pytest.Config) -> None:
    """No test reads or writes the user's discovery index: a cache directory per session
    (subprocesses inherit it). Set here, before any test module imports libnet."""
    import shutil
    import tempfile

    cache = tempfile.mkdtemp(prefix="libnet-test-cache-")
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    os.environ["XDG_CACHE_HOME"] = cache  # subprocesses that drop LIBNET_* keep it
    os.environ.pop("LIBNET_CACHE_DIR", None)
    os.environ.pop("LIBNET_NO_INDEX", None)
    # The tests' hand-made site folders are not byte-compiled as pip's installs are, so the
    # first import of a plugin module would write __pycache__ into a sys.path entry and (as
    # it should) invalidate the index a test is about to check: no bytecode is written.
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.dont_write_bytecode = True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rpartition(".")[2] in INDEX_MODULES:
        metafunc.parametrize("discovery_index", ["cold", "warm"], indirect=True)


@pytest.fixture(autouse=True)
def discovery_index(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """``cold``: every start scans (an empty cache directory per test). ``warm``: every
    start's scan is written to the index first, then read back from it, and the test fails
    if the index was not used."""
    from libnet.drivers.remote import index

    mode: str = getattr(request, "param", "cold")
    # Beside the test's tmp_path, not in it: tests check what their directories hold.
    monkeypatch.setenv("LIBNET_CACHE_DIR", str(tmp_path_factory.mktemp("libnet-cache")))
    if mode == "warm":
        load = index._load

        def warm(file: Path, key: dict[str, object]) -> object:
            index._save(file, key, index.time.time_ns(), index.scan(key["path"]))  # type: ignore[arg-type]
            with monkeypatch.context() as m:
                m.setattr(index, "RACY_NS", -(10**18))  # the scan just now is trusted
                found = load(file, key)
            assert found is not None, "the index just written was not used"
            return found

        monkeypatch.setattr(index, "_load", warm)
    return mode


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
