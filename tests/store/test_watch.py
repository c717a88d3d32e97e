"""Watches, leases and the DriverStore view: the store surface a multi-host driver uses.

The conformance kit's DriverStoreConformance runs on each WatchableStore backend (memory;
etcd with one and three members); below it, what is particular to the memory store and the
view's refusals.
"""

from __future__ import annotations

import uuid

import pytest

from libnet.errors import (
    InvalidOptionError,
    StoreCompactedError,
    UnsupportedOperationError,
)
from libnet.store import DriverStore, EtcdStore, MemoryStore, SqliteStore, WatchableStore
from libnet.store.memory import LOG_SIZE
from libnet.testing import DriverStoreConformance


class TestMemory(DriverStoreConformance):
    def make_store(self, request: pytest.FixtureRequest) -> WatchableStore:
        return MemoryStore()


def _etcd(request: pytest.FixtureRequest, cluster: str) -> WatchableStore:
    url = request.getfixturevalue(cluster).url(f"test-{uuid.uuid4().hex[:12]}")
    return EtcdStore(url)


@pytest.mark.system
class TestEtcd1(DriverStoreConformance):
    def make_store(self, request: pytest.FixtureRequest) -> WatchableStore:
        return _etcd(request, "etcd1")


@pytest.mark.system
class TestEtcd3(DriverStoreConformance):
    def make_store(self, request: pytest.FixtureRequest) -> WatchableStore:
        return _etcd(request, "etcd3")


def test_a_compacted_revision_says_so_and_a_new_listing_resumes() -> None:
    store = MemoryStore()
    _, old = store.list_revision("c/")
    for n in range(LOG_SIZE + 5):
        store.put("c/k", str(n).encode())
    with store.watch("c/", old) as watch, pytest.raises(StoreCompactedError) as caught:
        watch.next(0.1)
    assert caught.value.revision > old
    _, now = store.list_revision("c/")
    with store.watch("c/", now) as watch:
        store.put("c/k", b"after")
        assert [e.value for e in watch.next(1.0)] == [b"after"]


def test_the_view_refuses_a_bad_prefix_and_watches_on_a_store_without_them(
    tmp_path: object,
) -> None:
    with pytest.raises(InvalidOptionError, match="ending with '/'"):
        DriverStore(MemoryStore(), "mine")
    with SqliteStore(str(tmp_path)) as local:
        view = DriverStore(local, "mine/")
        view.put("k", b"v")  # plain reads and writes work on every store
        with pytest.raises(UnsupportedOperationError, match="etcd global store"):
            view.watch("", 0)
        with pytest.raises(UnsupportedOperationError):
            view.lease(5)


def test_compacting_the_memory_store_stops_the_watches_behind_it() -> None:
    store = MemoryStore()
    _, old = store.list_revision("m/")
    first = store.put("m/a", b"1")
    store.put("m/a", b"2")
    store.compact(first.index)
    with store.watch("m/", old) as watch, pytest.raises(StoreCompactedError):
        watch.next(0.1)
    with store.watch("m/", first.index) as watch:
        assert [e.value for e in watch.next(0.1)] == [b"2"]
