"""libnet's state store, after docker/libkv: a key-value contract and two backends."""

from libnet.store._api import KVOps, KVPair, Store, Transaction
from libnet.store._locks import ALL, Held, Holder, Locks, ThreadLocks, this_process
from libnet.store.memory import MemoryStore
from libnet.store.sqlite import SqliteStore

__all__ = [
    "ALL",
    "Held",
    "Holder",
    "KVOps",
    "KVPair",
    "Locks",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "ThreadLocks",
    "Transaction",
    "this_process",
]
