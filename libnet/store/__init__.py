"""libnet's state store, after docker/libkv: a key-value contract and its backends.

``MemoryStore`` and ``SqliteStore`` are local; ``EtcdStore`` (with ``EtcdLocks``, fenced
locks) is shared by several hosts. Every name is imported on first use, so a memory store
does not pay for SQLite, nor the local store for the HTTP and TLS modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from libnet._lazy import Exports

if TYPE_CHECKING:
    from libnet.store._api import KVOps, KVPair, Store, Transaction
    from libnet.store._locks import ALL, Held, Holder, Locks, ThreadLocks, this_process
    from libnet.store.etcd import EtcdStore
    from libnet.store.etcdlock import EtcdLock, EtcdLocks
    from libnet.store.etcdurl import EtcdConfig, parse_etcd_url
    from libnet.store.lock import LockService, StoreLock
    from libnet.store.memory import MemoryStore
    from libnet.store.scoped import ScopedStore, is_global
    from libnet.store.sqlite import SqliteStore
    from libnet.store.view import DriverStore, Lease
    from libnet.store.watch import Watch, WatchableStore, WatchEvent

__all__ = [
    "ALL",
    "DriverStore",
    "EtcdConfig",
    "EtcdLock",
    "EtcdLocks",
    "EtcdStore",
    "Held",
    "Holder",
    "KVOps",
    "KVPair",
    "Lease",
    "LockService",
    "Locks",
    "MemoryStore",
    "ScopedStore",
    "SqliteStore",
    "Store",
    "StoreLock",
    "ThreadLocks",
    "Transaction",
    "Watch",
    "WatchEvent",
    "WatchableStore",
    "is_global",
    "parse_etcd_url",
    "this_process",
]

_exports = Exports(
    __name__,
    {
        "libnet.store._api": ("KVOps", "KVPair", "Store", "Transaction"),
        "libnet.store._locks": ("ALL", "Held", "Holder", "Locks", "ThreadLocks", "this_process"),
        "libnet.store.etcd": ("EtcdStore",),
        "libnet.store.etcdlock": ("EtcdLock", "EtcdLocks"),
        "libnet.store.etcdurl": ("EtcdConfig", "parse_etcd_url"),
        "libnet.store.lock": ("LockService", "StoreLock"),
        "libnet.store.memory": ("MemoryStore",),
        "libnet.store.scoped": ("ScopedStore", "is_global"),
        "libnet.store.sqlite": ("SqliteStore",),
        "libnet.store.view": ("DriverStore", "Lease"),
        "libnet.store.watch": ("Watch", "WatchableStore", "WatchEvent"),
    },
)


def __getattr__(name: str) -> Any:
    return _exports.load(name)
