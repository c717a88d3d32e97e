"""The etcd Store: libnet's state in an etcd cluster shared by several hosts (etcd 3.4+).

It speaks to the members' JSON gateway (``/v3/``) with the standard library (``_etcdgw``),
so ``pip install libnet[etcd]`` adds nothing to install. A ``KVPair``'s index is the key's
``mod_revision``: etcd's store-wide revision, never reused.

Atomic writes are etcd transactions comparing the key's ``mod_revision`` (or its
``create_revision`` with 0: create if absent). A :class:`Transaction` is optimistic across
processes: reads come from one snapshot revision, writes are buffered, and the commit is a
single etcd transaction that compares every key read (and, for each listed prefix, that no
key under it changed or appeared) before writing. If another writer got there first nothing
is written and ``StaleVersionError`` (retryable) names the key. Inside one process a
transaction also holds the store's lock, so this process's writers wait for it, as with the
other backends. A transaction given ``fence=lock`` also compares the lock's key, so a holder
whose lease expired writes nothing (``StoreLockLostError``).

Pairs written inside a transaction carry a provisional index (from ``PROVISIONAL_INDEX`` up),
valid inside it only: etcd gives the revision at commit (``revision`` after the block).

Every conditional write (an atomic write, a transaction's commit) also writes a marker key of
this client's, outside the prefix and under a lease, with a fresh value. When a member takes
such a write and fails before answering (its leader died), the store reads the marker after
failover: if it holds the value, the write applied; if not, it is sent again (its compares
are checked again, so that is safe). Callers therefore see a lost answer only when no member
answers again within the timeout (``StoreOutcomeUnknownError``); such a write may take up to
twice the timeout (the write, then the check).

Limits: etcd takes at most 128 compares and 128 writes per transaction (127 here, with the
marker) and 1.5 MiB per request; larger ones are refused with ``StoreLimitError`` before
anything is sent.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

from libnet.errors import (
    BadRequestError,
    KeyNotFoundError,
    StaleVersionError,
    StoreError,
    StoreLeaseLostError,
    StoreLimitError,
    StoreLockLostError,
    StoreOutcomeUnknownError,
    StoreUnavailableError,
)
from libnet.store._api import BufferedTransaction, KVPair, check_previous, check_write
from libnet.store._etcdgw import MAX_REQUEST_BYTES, MAX_TXN_OPS, Gateway, b64, flag, num, unb64
from libnet.store._guarded import GuardedStore, GuardedTransaction
from libnet.store._locks import Locks
from libnet.store.etcdurl import EtcdConfig, parse_etcd_url
from libnet.store.etcdwatch import EtcdWatch
from libnet.store.lock import StoreLock
from libnet.store.watch import WatchableStore

__all__ = ["PROVISIONAL_INDEX", "EtcdStore"]

PROVISIONAL_INDEX = 1 << 62
"""Indexes of pairs written inside a transaction start here, above any real revision."""

_PAGE = 1000
_MARKER_TTL = 3600
Json = dict[str, Any]


def _range_end(start: bytes) -> bytes:
    """The least key above every key starting with ``start`` (``b"\\0"``: no bound)."""
    stem = start.rstrip(b"\xff")
    return stem[:-1] + bytes([stem[-1] + 1]) if stem else b"\0"


def _compare(key: bytes, target: str, value: int, result: str = "EQUAL") -> Json:
    field = {"MOD": "mod_revision", "CREATE": "create_revision"}[target]
    return {"key": b64(key), "target": target, "result": result, field: str(value)}


class EtcdStore(GuardedStore, WatchableStore):
    """A Store in an etcd cluster; thread-safe; see the module's docstring.

    ``config`` is an :class:`EtcdConfig` or an ``etcd://`` URL (:func:`parse_etcd_url`).
    Nothing is contacted until the first call.
    """

    __slots__ = ("_config", "_gw", "_marker", "_marker_lease", "_prefix")

    KIND = "etcd store"

    def __init__(self, config: EtcdConfig | str) -> None:
        if isinstance(config, str):
            config = parse_etcd_url(config)
        super().__init__()
        self._config = config
        self._prefix = config.prefix.encode()
        self._gw = Gateway(config)
        # Every conditional write also writes this key (outside the prefix, under a lease)
        # with a fresh value, so a write whose answer was lost can be checked and resent.
        self._marker = config.prefix.rstrip("/").encode() + b".txn/" + uuid.uuid4().hex.encode()
        self._marker_lease = 0

    @property
    def config(self) -> EtcdConfig:
        return self._config

    @property
    def gateway(self) -> Gateway:
        """The gateway client (for this package's lock)."""
        return self._gw

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._config.url!r})"

    # Keys.

    def raw_key(self, key: str) -> bytes:
        """``key`` as stored in etcd: under the prefix, UTF-8."""
        try:
            return self._prefix + key.encode()
        except (UnicodeEncodeError, AttributeError):
            raise BadRequestError(
                f"state store key {key!r} must be a string that UTF-8 can encode"
            ) from None

    def _key(self, raw: str | None) -> str:
        return unb64(raw)[len(self._prefix) :].decode()

    def _pair(self, kv: Json) -> KVPair:
        return KVPair(self._key(kv.get("key")), unb64(kv.get("value")), num(kv, "mod_revision"))

    # Locking, as the other backends: a transaction holds the lock from start to end.

    def _name(self) -> str:
        return f"the etcd store at {self._gw.where}"

    # Calls, made with the lock held.

    def _range(self, raw: bytes, revision: int = 0) -> tuple[Json | None, int]:
        """The kv at ``raw`` (None: absent) and the revision it was read at."""
        body: Json = {"key": b64(raw)}
        if revision:
            body["revision"] = str(revision)
        answer = self._gw.call("kv/range", body)
        kvs = answer.get("kvs") or []
        return (kvs[0] if kvs else None), num(answer.get("header", {}), "revision")

    def _list(self, prefix: str, revision: int = 0) -> tuple[list[Json], int]:
        """Every kv under ``prefix``, in key order, read at one revision (paged)."""
        start = self.raw_key(prefix)
        end = b64(_range_end(start))
        found: list[Json] = []
        while True:
            body: Json = {"key": b64(start), "range_end": end, "limit": str(_PAGE)}
            if revision:
                body["revision"] = str(revision)
            answer = self._gw.call("kv/range", body)
            revision = revision or num(answer.get("header", {}), "revision")
            kvs = answer.get("kvs") or []
            found.extend(kvs)
            if not flag(answer, "more") or not kvs:
                return found, revision
            start = unb64(kvs[-1]["key"]) + b"\0"

    def _txn(self, compares: list[Json], success: list[Json], failure: list[Json]) -> Json:
        """One etcd transaction, refused before sending when it breaks etcd's limits."""
        # One write of every transaction is the store's marker (below).
        for what, ops, limit in (
            ("keys read (compares)", compares, MAX_TXN_OPS),
            ("writes", success, MAX_TXN_OPS - 1),
        ):
            if len(ops) > limit:
                raise StoreLimitError(
                    f"a transaction on the etcd store at {self._gw.where} has {len(ops)} "
                    f"{what}; it takes at most {limit} (etcd's --max-txn-ops is "
                    f"{MAX_TXN_OPS}, and the store adds one write): split it into smaller "
                    "transactions"
                )
        size = sum(len(str(op)) for op in itertools.chain(compares, success, failure)) * 3 // 4
        if size > MAX_REQUEST_BYTES:
            raise StoreLimitError(
                f"a transaction on the etcd store at {self._gw.where} is about "
                f"{size // 1024} KiB; etcd takes at most {MAX_REQUEST_BYTES // 1024} KiB per "
                "request (--max-request-bytes): store smaller values"
            )
        for _ in range(5):
            marker = uuid.uuid4().hex
            put = {"key": b64(self._marker), "value": b64(marker.encode())}
            put["lease"] = str(self._lease())
            body = {
                "compare": compares,
                "success": [*success, {"request_put": put}],
                "failure": failure,
            }
            try:
                return self._gw.call("kv/txn", body, idempotent=False)
            except StoreOutcomeUnknownError as lost:
                try:  # after failover: did it apply?
                    kv, _ = self._range(self._marker)
                except StoreUnavailableError:
                    raise lost from None
                if kv is not None and unb64(kv.get("value")) == marker.encode():
                    return {"succeeded": True, "header": {"revision": kv["mod_revision"]}}
                # It did not: sending it again is safe, its compares are checked again.
            except StoreError as e:
                if "lease not found" not in str(e):
                    raise
                self._marker_lease = 0  # expired while idle: take another
        raise StoreOutcomeUnknownError(
            f"a write to the etcd store at {self._gw.where} kept failing after reaching a "
            "member; it was not applied: retry"
        )

    def _lease(self) -> int:
        if not self._marker_lease:
            answer = self._gw.call("lease/grant", {"TTL": str(_MARKER_TTL)})
            self._marker_lease = num(answer, "ID")
        return self._marker_lease

    def _conditional(self, key: str, raw: bytes, previous: KVPair | None, op: Json) -> Json:
        """Run ``op`` if ``key`` is as ``previous`` says; StaleVersionError if not."""
        if previous is not None and previous.key != key:
            check_previous(key, previous.index, previous)  # raises BadRequestError
        compare = (
            _compare(raw, "CREATE", 0) if previous is None else _compare(raw, "MOD", previous.index)
        )
        answer = self._txn([compare], [op], [{"request_range": {"key": b64(raw)}}])
        if flag(answer, "succeeded"):
            return answer
        kvs = answer["responses"][0]["response_range"].get("kvs") or []
        check_previous(key, num(kvs[0], "mod_revision") if kvs else None, previous)
        raise StaleVersionError(key, "it changed during the write")  # not reached

    # The Store API.

    def get(self, key: str) -> KVPair:
        raw = self.raw_key(key)
        self._acquire()
        try:
            kv, _ = self._range(raw)
        finally:
            self._lock.release()
        if kv is None:
            raise KeyNotFoundError(key)
        return self._pair(kv)

    def exists(self, key: str) -> bool:
        raw = self.raw_key(key)
        self._acquire()
        try:
            answer = self._gw.call("kv/range", {"key": b64(raw), "count_only": True})
        finally:
            self._lock.release()
        return num(answer, "count") > 0

    def list(self, prefix: str) -> builtins.list[KVPair]:
        self._acquire()
        try:
            kvs, _ = self._list(prefix)
        finally:
            self._lock.release()
        return [self._pair(kv) for kv in kvs]

    def put(self, key: str, value: bytes) -> KVPair:
        check_write(key, value)
        raw = self.raw_key(key)
        self._check_size(len(raw) + len(value))
        self._acquire()
        try:
            answer = self._gw.call("kv/put", {"key": b64(raw), "value": b64(value)})
        finally:
            self._lock.release()
        return KVPair(key, value, num(answer["header"], "revision"))

    def delete(self, key: str) -> None:
        raw = self.raw_key(key)
        self._acquire()
        try:
            # A transaction (not a plain delete) so that a lost answer can be checked: a
            # repeated plain delete would find nothing and wrongly say the key was missing.
            answer = self._txn(
                [_compare(raw, "CREATE", 0, "GREATER")],
                [{"request_delete_range": {"key": b64(raw)}}],
                [],
            )
        finally:
            self._lock.release()
        if not flag(answer, "succeeded"):
            raise KeyNotFoundError(key)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        check_write(key, value)
        raw = self.raw_key(key)
        self._check_size(len(raw) + len(value))
        op = {"request_put": {"key": b64(raw), "value": b64(value)}}
        self._acquire()
        try:
            answer = self._conditional(key, raw, previous, op)
        finally:
            self._lock.release()
        return KVPair(key, value, num(answer["header"], "revision"))

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        raw = self.raw_key(key)
        self._acquire()
        try:
            self._conditional(key, raw, previous, {"request_delete_range": {"key": b64(raw)}})
        finally:
            self._lock.release()

    # Watches and leases (libnet.store.watch). A lease's keys live under the prefix like
    # any other; the calls below need not the store's lock (they are single requests).

    def list_revision(self, prefix: str) -> tuple[builtins.list[KVPair], int]:
        self._acquire()
        try:
            kvs, revision = self._list(prefix)
        finally:
            self._lock.release()
        return [self._pair(kv) for kv in kvs], revision

    def watch(self, prefix: str, after: int) -> EtcdWatch:
        if self._closed:
            raise StoreError(f"{self._name()} is closed")
        start = self.raw_key(prefix)
        return EtcdWatch(self._gw, start, _range_end(start), after, self._watched_key)

    def _watched_key(self, raw: bytes) -> str:
        return raw[len(self._prefix) :].decode()

    def grant_lease(self, ttl: int) -> int:
        answer = self._gw.call("lease/grant", {"TTL": str(max(int(ttl), 1))})
        return num(answer, "ID")

    def keepalive_lease(self, lease: int) -> int:
        ttl = 0
        for _ in range(2):  # the member may have gone: try the next one once
            for message in self._gw.stream("lease/keepalive", {"ID": str(lease)}, 2.0):
                ttl = num(message, "TTL")
                if "TTL" in message or "ID" in message:
                    break
            else:
                self._gw.call("maintenance/status", {})  # fails over to a live member
                continue
            if ttl > 0:
                return ttl
            break
        raise StoreLeaseLostError(
            f"lease {lease:x} on the etcd store at {self._gw.where} expired or was revoked: "
            "grant another"
        )

    def revoke_lease(self, lease: int) -> None:
        try:
            self._gw.call("lease/revoke", {"ID": str(lease)})
        except StoreError as e:
            if "lease not found" not in str(e):
                raise

    def put_leased(self, key: str, value: bytes, lease: int) -> KVPair:
        check_write(key, value)
        raw = self.raw_key(key)
        self._check_size(len(raw) + len(value))
        body = {"key": b64(raw), "value": b64(value), "lease": str(lease)}
        try:
            answer = self._gw.call("kv/put", body)
        except StoreError as e:
            if "lease not found" not in str(e):
                raise
            raise StoreLeaseLostError(
                f"cannot put {key!r} under lease {lease:x} of the etcd store at "
                f"{self._gw.where}: the lease expired or was revoked; grant another"
            ) from None
        return KVPair(key, value, num(answer["header"], "revision"))

    def compact(self, revision: int) -> None:
        """Compact the cluster's history up to ``revision`` (for tests and maintenance)."""
        self._gw.call("kv/compaction", {"revision": str(revision), "physical": True})

    def transaction(self, *, fence: StoreLock | None = None) -> EtcdTransaction:
        """A new transaction; with ``fence``, it commits only while that lock is held."""
        return EtcdTransaction(self, fence)

    def locks(self) -> Locks:
        """Lease-backed object locks in this store (:mod:`libnet.store.etcdheld`)."""
        from libnet.store.etcdheld import EtcdObjectLocks

        return EtcdObjectLocks(self)

    def close(self) -> None:
        self._check_close()
        with self._lock:
            if not self._closed:
                if self._marker_lease:
                    with contextlib.suppress(StoreError):
                        self._gw.call("lease/revoke", {"ID": str(self._marker_lease)}, timeout=1)
                self._closed = True
                self._gw.close()

    def _check_size(self, size: int) -> None:
        if size > MAX_REQUEST_BYTES - 1024:
            raise StoreLimitError(
                f"a value of {size // 1024} KiB is too large for the etcd store at "
                f"{self._gw.where}: etcd takes at most {MAX_REQUEST_BYTES // 1024} KiB per "
                "request (--max-request-bytes)"
            )


class EtcdTransaction(GuardedTransaction["EtcdStore"], BufferedTransaction):
    """An optimistic EtcdStore transaction (see the module's docstring)."""

    __slots__ = (
        "_fence",
        "_next",
        "_prefixes",
        "_reads",
        "_revision",
        "_writes",
        "revision",
    )

    def __init__(self, store: EtcdStore, fence: StoreLock | None) -> None:
        super().__init__(store)
        self._fence = fence
        self._revision = 0  # the snapshot every read is made at; 0 until the first read
        self._reads: dict[bytes, int] = {}  # key -> mod_revision seen (0: absent)
        self._prefixes: set[str] = set()
        self._writes: dict[str, KVPair | None] = {}  # None: deleted
        self._next = PROVISIONAL_INDEX
        self.revision: int | None = None
        """The revision of the commit, once the block ended without error (None until)."""

    def _end(self, commit: bool) -> None:
        if commit:
            self._commit()

    # Reads, from one snapshot, remembered for the commit's compares.

    def _current(self, key: str) -> KVPair | None:
        store = self._check()
        if key in self._writes:
            return self._writes[key]
        kv = self._read(store.raw_key(key))
        return None if kv is None else store._pair(kv)

    def _read(self, raw: bytes) -> Json | None:
        """The kv at ``raw`` in the snapshot, remembered for the commit's compares."""
        with self._compacted(raw):
            kv, revision = self._store._range(raw, self._revision)
        self._revision = self._revision or revision
        self._reads[raw] = 0 if kv is None else num(kv, "mod_revision")
        return kv

    @contextlib.contextmanager
    def _compacted(self, raw: bytes) -> Iterator[None]:
        """Turn etcd's refusal to read a compacted snapshot into a retryable conflict."""
        try:
            yield
        except StoreError as e:
            if "compacted" not in str(e):
                raise
            key = raw[len(self._store._prefix) :].decode()
            raise StaleVersionError(
                key, f"etcd compacted revision {self._revision}, this transaction's snapshot"
            ) from None

    def _write(self, key: str, value: bytes) -> KVPair:
        self._next += 1
        pair = self._writes[key] = KVPair(key, value, self._next)
        return pair

    def list(self, prefix: str) -> builtins.list[KVPair]:
        store = self._check()
        with self._compacted(store.raw_key(prefix)):
            kvs, revision = store._list(prefix, self._revision)
        self._revision = revision
        self._prefixes.add(prefix)
        stored: dict[str, KVPair] = {}
        for kv in kvs:
            pair = store._pair(kv)
            stored[pair.key] = pair
            self._reads.setdefault(store.raw_key(pair.key), pair.index)
        return self._overlay(stored, prefix)

    def _remove(self, key: str) -> None:
        # Read the key first if only a blind write of this transaction saw it: the commit
        # deletes what is stored only if it knows something is.
        raw = self._store.raw_key(key)
        if raw not in self._reads:
            self._read(raw)
        self._writes[key] = None

    # The commit.

    def _commit(self) -> None:
        if not self._writes:
            return  # reads of one snapshot need no commit
        store = self._store
        written = {store.raw_key(key) for key in self._writes}
        compares = [_compare(raw, "MOD", mod) for raw, mod in self._reads.items()]
        if len(compares) + len(self._prefixes) + 1 > MAX_TXN_OPS:
            # Keys seen only through a list are covered by the list's own compare (which
            # sees any change or new key under the prefix), except a deletion; keep the
            # exact compares for keys this transaction writes.
            listed = {raw for raw in self._reads if raw not in written}
            compares = [c for c in compares if unb64(c["key"]) not in listed]
        for prefix in sorted(self._prefixes):
            start = store.raw_key(prefix)
            compare = _compare(start, "MOD", self._revision + 1, "LESS")
            compare["range_end"] = b64(_range_end(start))
            compares.append(compare)
        fence = self._fence
        if fence is not None:
            compares.append(_compare(store.raw_key(fence.key), "CREATE", fence.token))
        success: list[Json] = []
        for key, pair in self._writes.items():
            raw = store.raw_key(key)
            if pair is not None:
                success.append({"request_put": {"key": b64(raw), "value": b64(pair.value)}})
            elif self._reads.get(raw, 0):  # deleting what this transaction did not create
                success.append({"request_delete_range": {"key": b64(raw)}})
        answer = store._txn(compares, success, [])
        if flag(answer, "succeeded"):
            self.revision = num(answer["header"], "revision")
            return
        raise self._conflict()

    def _conflict(self) -> Exception:
        """The error for a commit whose compares failed: the fence first, then a key."""
        store = self._store
        fence = self._fence
        if fence is not None:
            kv, _ = store._range(store.raw_key(fence.key))
            if kv is None or num(kv, "create_revision") != fence.token:
                return StoreLockLostError(
                    f"lock {fence.name!r} was lost (its lease expired or it was released) "
                    "before the commit; nothing was written: take the lock again and retry"
                )
        for raw, mod in self._reads.items():
            kv, _ = store._range(raw)
            now = 0 if kv is None else num(kv, "mod_revision")
            if now != mod:
                key = raw[len(store._prefix) :].decode()
                return StaleVersionError(key, "another writer changed it during the transaction")
        what = ", ".join(repr(p) for p in sorted(self._prefixes)) or "the keys read"
        return StaleVersionError(
            what, "another writer changed keys under it during the transaction"
        )
