"""libnet's state store, after docker/libkv: a key-value contract and its backends.

``MemoryStore`` and ``SqliteStore`` are local; ``EtcdStore`` (with ``EtcdLocks``, fenced
locks) is shared by several hosts. The etcd names are imported on first use, so the local
store does not pay for the HTTP and TLS modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from libnet.store._api import KVOps, KVPair, Store, Transaction
from libnet.store._locks import ALL, Held, Holder, Locks, ThreadLocks, this_process
from libnet.store.lock import LockService, StoreLock
from libnet.store.memory import MemoryStore
from libnet.store.scoped import ScopedStore, is_global
from libnet.store.sqlite import SqliteStore
from libnet.store.view import DriverStore, Lease
from libnet.store.watch import Watch, WatchableStore, WatchEvent

if TYPE_CHECKING:
    from libnet.store.etcd import EtcdStore
    from libnet.store.etcdlock import EtcdLock, EtcdLocks
    from libnet.store.etcdurl import EtcdConfig, parse_etcd_url

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

_LAZY = {
    "EtcdConfig": "libnet.store.etcdurl",
    "parse_etcd_url": "libnet.store.etcdurl",
    "EtcdStore": "libnet.store.etcd",
    "EtcdLock": "libnet.store.etcdlock",
    "EtcdLocks": "libnet.store.etcdlock",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
