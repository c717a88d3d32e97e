"""The default IPAM driver's state: restart, drivers sharing a store, caller transactions."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

import pytest

from libnet.errors import AddressNotAllocatedError, PoolNotFoundError, PoolOverlapError, StoreError
from libnet.ipam import GATEWAY_OPTIONS, NETWORK_NAME_OPTION, DefaultIpam, bind_ipam
from libnet.store import KVPair, MemoryStore, SqliteStore, Store, Transaction

LOCAL = "LocalDefault"


def test_a_new_driver_on_the_same_sqlite_state_sees_everything(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as store:
        ipam = DefaultIpam(store)
        web = ipam.request_pool(LOCAL, options={NETWORK_NAME_OPTION: "web"})[0]
        assert ipam.request_address(web, None, GATEWAY_OPTIONS)[0] == "172.17.0.1/16"
        got = [ipam.request_address(web)[0] for _ in range(5)]
        ipam.release_address(web, got[2])
        ranged = ipam.request_pool(LOCAL, "10.0.0.0/24", "10.0.0.128/25")[0]
        ipam.request_address(ranged)
        six = ipam.request_pool(LOCAL, v6=True)[0]
        ipam.request_address(six)
        before = ipam.pools()
        web_addresses = ipam.addresses(web)
    with SqliteStore(tmp_path) as store:
        ipam = DefaultIpam(store)
        assert ipam.pools() == before
        assert ipam.addresses(web) == web_addresses
        assert ipam.addresses(ranged) == ["10.0.0.128/24"]
        assert ipam.request_address(web)[0] == got[2]  # the released one, lowest first
        assert ipam.request_address(web)[0] == "172.17.0.7/16"
        assert ipam.request_address(ranged)[0] == "10.0.0.129/24"
        with pytest.raises(AddressNotAllocatedError):
            ipam.release_address(web, "172.17.0.99")
        with pytest.raises(PoolOverlapError, match="of network 'web'"):
            ipam.request_pool(LOCAL, "172.17.3.0/24")
        assert ipam.request_pool(LOCAL)[1] == "172.18.0.0/16"
        other6 = ipam.request_pool(LOCAL, v6=True)[1]
        assert other6.split(":")[:3] == six.split("/")[1].split(":")[:3]  # same ULA /48
        ipam.release_pool(web)
        assert ipam.request_pool(LOCAL)[1] == "172.17.0.0/16"


def test_two_drivers_on_one_store_never_hand_out_the_same_address(backend: Store) -> None:
    a, b = DefaultIpam(backend), DefaultIpam(backend)
    pool_id = a.request_pool(LOCAL, "10.0.0.0/24")[0]
    got = [(a if i % 3 else b).request_address(pool_id)[0] for i in range(100)]
    assert len(set(got)) == 100
    a.release_address(pool_id, got[50])
    assert b.request_address(pool_id)[0] == got[50]
    with pytest.raises(AddressNotAllocatedError):
        b.release_address(pool_id, "10.0.0.200")
    b.release_address(pool_id, got[7])
    with pytest.raises(AddressNotAllocatedError):
        a.release_address(pool_id, got[7])
    b.release_pool(pool_id)
    with pytest.raises(PoolNotFoundError):
        a.request_address(pool_id)


def test_a_driver_that_only_read_a_pool_does_not_take_over_its_head(backend: Store) -> None:
    a, b = DefaultIpam(backend), DefaultIpam(backend)
    pool_id = a.request_pool(LOCAL, "10.0.0.0/24")[0]
    assert a.request_address(pool_id)[0] == "10.0.0.1/24"
    assert b.addresses(pool_id) == ["10.0.0.1/24"]  # b caches the pool as a left it
    assert b.request_address(pool_id)[0] == "10.0.0.2/24"
    assert a.request_address(pool_id)[0] == "10.0.0.3/24"
    a.release_address(pool_id, "10.0.0.1")
    assert b.request_address(pool_id)[0] == "10.0.0.1/24"


def test_bound_calls_roll_back_with_the_callers_transaction(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    kept = ipam.request_pool(LOCAL, "10.0.0.0/24")[0]
    ipam.request_address(kept)
    with pytest.raises(RuntimeError, match="driver failed"), backend.transaction() as tx:
        bound = ipam.bind(tx)
        new = bound.request_pool(LOCAL)[0]
        assert bound.request_address(new, None, GATEWAY_OPTIONS)[0] == "172.17.0.1/16"
        assert bound.request_address(kept)[0] == "10.0.0.2/24"
        bound.release_address(kept, "10.0.0.1")
        assert bound.addresses(kept) == ["10.0.0.2/24"]  # type: ignore[attr-defined]
        assert len(bound.pools()) == 2  # type: ignore[attr-defined]
        raise RuntimeError("driver failed")
    assert [p.id for p in ipam.pools()] == [kept]
    assert ipam.addresses(kept) == ["10.0.0.1/24"]
    assert ipam.request_address(kept)[0] == "10.0.0.2/24"
    assert ipam.request_pool(LOCAL)[1] == "172.17.0.0/16"


def test_bound_calls_commit_with_the_callers_transaction(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    with backend.transaction() as tx:
        bound = bind_ipam(ipam, tx)
        pool_id = bound.request_pool(LOCAL, "10.0.0.0/24")[0]
        bound.request_address(pool_id, "10.0.0.9")
        assert bound.request_address(pool_id)[0] == "10.0.0.1/24"
        assert bound.bind(tx) is not bound
    assert ipam.addresses(pool_id) == ["10.0.0.1/24", "10.0.0.9/24"]
    assert DefaultIpam(backend).request_address(pool_id)[0] == "10.0.0.2/24"


def test_unbound_calls_inside_a_transaction_of_the_same_store_are_refused(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    with backend.transaction(), pytest.raises(StoreError):
        ipam.request_pool(LOCAL)


class _FailingStore(MemoryStore):
    """A MemoryStore whose transactions roll back and raise at commit while ``fail`` is set."""

    fail = False

    def transaction(self) -> Transaction:
        return _FailingCommit(super().transaction(), self)


class _FailingCommit(Transaction):
    def __init__(self, inner: Transaction, store: _FailingStore) -> None:
        self._inner, self._store = inner, store

    def __enter__(self) -> Transaction:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store.fail and exc_type is None:
            self._inner.__exit__(RuntimeError, None, None)
            raise RuntimeError("commit failed")
        self._inner.__exit__(exc_type, exc, tb)

    def get(self, key: str) -> KVPair:
        return self._inner.get(key)

    def put(self, key: str, value: bytes) -> KVPair:
        return self._inner.put(key, value)

    def delete(self, key: str) -> None:
        self._inner.delete(key)

    def exists(self, key: str) -> bool:
        return self._inner.exists(key)

    def list(self, prefix: str) -> list[KVPair]:
        return self._inner.list(prefix)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        return self._inner.atomic_put(key, value, previous)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._inner.atomic_delete(key, previous)


def test_a_failed_commit_leaves_the_cache_consistent() -> None:
    store = _FailingStore()
    ipam = DefaultIpam(store)
    pool_id = ipam.request_pool(LOCAL, "10.0.0.0/24")[0]
    assert ipam.request_address(pool_id)[0] == "10.0.0.1/24"
    store.fail = True
    with pytest.raises(RuntimeError, match="commit failed"):
        ipam.request_address(pool_id)
    with pytest.raises(RuntimeError, match="commit failed"):
        ipam.release_address(pool_id, "10.0.0.1")
    with pytest.raises(RuntimeError, match="commit failed"):
        ipam.request_pool(LOCAL, "10.0.1.0/24")
    store.fail = False
    assert ipam.addresses(pool_id) == ["10.0.0.1/24"]
    assert ipam.request_address(pool_id)[0] == "10.0.0.2/24"
    assert [p.pool for p in ipam.pools()] == ["10.0.0.0/24"]


def test_threads_sharing_one_driver_never_hand_out_the_same_address(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    pool_id = ipam.request_pool(LOCAL, "10.0.0.0/22")[0]
    held: list[list[str]] = [[] for _ in range(4)]

    def work(mine: list[str]) -> None:
        for i in range(150):
            mine.append(ipam.request_address(pool_id)[0])
            if i % 5 == 4:
                ipam.release_address(pool_id, mine.pop(0))

    threads = [threading.Thread(target=work, args=(h,)) for h in held]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [a for h in held for a in h]
    assert len(every) == len(set(every)) == 4 * 120
    assert sorted(ipam.addresses(pool_id)) == sorted(every)
    assert sorted(DefaultIpam(backend).addresses(pool_id)) == sorted(every)
