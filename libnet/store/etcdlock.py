"""Fenced locks in etcd: a lease per acquisition and a create-if-absent transaction.

Lock ``NAME`` is the key ``locks/NAME`` under the store's prefix, attached to the holder's
lease and holding who took it. Acquiring is one transaction: create the key if it has no
``create_revision``, else read it. The key's ``create_revision`` is the fencing token, and
``EtcdStore.transaction(fence=lock)`` compares it at commit. A waiter watches the key for
its deletion (a release, or the holder's lease expiring) and tries again, until its wait
ends with ``StoreLockTimeoutError`` naming the holder. A thread keeps each held lease alive,
every quarter of its TTL; when a refresh finds the lease gone, or none succeeds for a whole
TTL, the lock is ``lost``.

etcd3gw's ``Lock`` is not used: its ``__enter__`` ignores a failed acquire. etcd's own lock
service (``/v3/lock/lock``) blocks on the server with no bound the gateway can cancel.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from libnet.errors import (
    BadRequestError,
    InvalidOptionError,
    StoreError,
    StoreLockTimeoutError,
    StoreOutcomeUnknownError,
)
from libnet.store._etcdgw import b64, flag, num, unb64
from libnet.store.lock import LockService, StoreLock

if TYPE_CHECKING:  # the store uses these locks for its object locks (EtcdStore.locks)
    from libnet.store.etcd import EtcdStore

__all__ = ["LOCK_PREFIX", "EtcdLock", "EtcdLocks"]

LOCK_PREFIX = "locks/"
"""Where locks live, under the store's prefix."""


class EtcdLock(StoreLock):
    """One held etcd lock: its lease, the thread keeping it alive, its fencing token."""

    __slots__ = ("_key", "_lease", "_lost", "_name", "_stop", "_store", "_thread", "_token", "ttl")

    def __init__(self, store: EtcdStore, name: str, lease: int, ttl: int) -> None:
        self._store = store
        self._name = name
        self._key = LOCK_PREFIX + name
        self._lease = lease
        self.ttl = ttl
        self._token = 0
        self._lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keepalive, name=f"libnet-etcd-lock-{name}", daemon=True
        )
        self._thread.start()

    @property
    def name(self) -> str:
        return self._name

    @property
    def key(self) -> str:
        return self._key

    @property
    def token(self) -> int:
        return self._token

    @property
    def lease(self) -> int:
        return self._lease

    @property
    def lost(self) -> bool:
        return self._lost

    def __repr__(self) -> str:
        return f"EtcdLock({self._name!r}, token={self._token}, lost={self._lost})"

    def _keepalive(self) -> None:
        try:
            self._refresh()
        finally:
            self._store.gateway.forget_thread()

    def _refresh(self) -> None:
        gateway = self._store.gateway
        period = self.ttl / 4  # a refresh that times out leaves time for another
        refreshed = time.monotonic()
        while not self._stop.wait(period):
            try:
                answer = gateway.call("lease/keepalive", {"ID": str(self._lease)}, timeout=period)
            except StoreError:
                if time.monotonic() - refreshed > self.ttl:
                    self._lost = True
                    return
                continue
            if num(answer.get("result") or answer, "TTL") <= 0:
                self._lost = True  # the lease expired or was revoked
                return
            refreshed = time.monotonic()

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self._lost = True
        try:  # revoking the lease deletes the key; a lease already gone is fine
            self._store.gateway.call("lease/revoke", {"ID": str(self._lease)})
        except StoreError as e:
            if "not found" not in str(e):
                raise


class EtcdLocks(LockService):
    """Fenced locks in an :class:`EtcdStore`.

    ``ttl`` is the lease's length in seconds (whole seconds; etcd may raise it to its
    minimum): how long a dead holder keeps a lock. ``wait`` is how long ``acquire`` waits by
    default. ``holder`` names this process in the key, for other waiters' messages.
    """

    def __init__(
        self, store: EtcdStore, *, ttl: float = 10.0, wait: float = 30.0, holder: str | None = None
    ) -> None:
        if not (math.isfinite(ttl) and ttl > 0):
            raise InvalidOptionError(f"lock ttl {ttl!r} must be a positive number of seconds")
        if not (math.isfinite(wait) and wait >= 0):
            raise InvalidOptionError(f"lock wait {wait!r} must be a number of seconds, 0 or more")
        self._store = store
        self.ttl = max(1, math.ceil(ttl))
        self.wait = wait
        self.holder = holder or f"{socket.gethostname()} pid {os.getpid()}"

    def acquire(self, name: str, *, wait: float | None = None) -> EtcdLock:
        if not name or not isinstance(name, str):
            raise BadRequestError(f"lock name {name!r} must be a non-empty string")
        wait = self.wait if wait is None else wait
        deadline = time.monotonic() + wait
        store, gateway = self._store, self._store.gateway
        raw = store.raw_key(LOCK_PREFIX + name)
        granted = gateway.call("lease/grant", {"TTL": str(self.ttl)})
        lock = EtcdLock(store, name, num(granted, "ID"), max(num(granted, "TTL"), 1))
        value = json.dumps({"holder": self.holder, "lease": str(lock.lease)}).encode()
        try:
            while True:
                holder = self._try(lock, raw, value)
                if holder is None:
                    return lock
                who, since, revision = holder
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreLockTimeoutError(
                        f"lock {name!r} is held by {who} (since store revision {since}); "
                        f"waited {wait:g} s for it: retry later (a holder that died releases "
                        "it when its lease expires)"
                    )
                self._wait_for_delete(raw, revision, remaining)
        except BaseException:
            with contextlib.suppress(StoreError):  # the lease expires anyway
                lock.release()
            raise

    def _try(self, lock: EtcdLock, raw: bytes, value: bytes) -> tuple[str, int, int] | None:
        """Take the key, setting the token; else (holder, since revision, read revision)."""
        gateway = self._store.gateway
        body = {
            "compare": [
                {"key": b64(raw), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
            ],
            "success": [
                {"request_put": {"key": b64(raw), "value": b64(value), "lease": str(lock.lease)}}
            ],
            "failure": [{"request_range": {"key": b64(raw)}}],
        }
        try:
            answer = gateway.call("kv/txn", body, idempotent=False)
        except StoreOutcomeUnknownError:
            answer = gateway.call("kv/range", {"key": b64(raw)})
            kvs = answer.get("kvs") or []
            if kvs and num(kvs[0], "lease") == lock.lease:
                lock._token = num(kvs[0], "create_revision")
                return None
            return "an unknown holder", 0, num(answer["header"], "revision")
        revision = num(answer["header"], "revision")
        if flag(answer, "succeeded"):
            lock._token = revision
            return None
        kvs = answer["responses"][0]["response_range"].get("kvs") or []
        if not kvs:
            return "nobody (just released)", 0, revision
        try:
            who = str(json.loads(unb64(kvs[0].get("value")))["holder"])
        except (ValueError, KeyError, TypeError):
            who = "an unknown holder"
        return who, num(kvs[0], "create_revision"), revision

    def _wait_for_delete(self, raw: bytes, revision: int, timeout: float) -> None:
        """Return when the key is deleted after ``revision``, or ``timeout`` passed."""
        began = time.monotonic()
        request = {
            "create_request": {
                "key": b64(raw),
                "start_revision": str(revision + 1),
                "filters": ["NOPUT"],
            }
        }
        for message in self._store.gateway.stream("watch", request, timeout):
            if message.get("events") or flag(message, "canceled"):
                return
        # The stream ended early (member gone): do not spin on a dead endpoint.
        left = timeout - (time.monotonic() - began)
        if left > 0:
            time.sleep(min(0.05, left))
