"""Typed access to the controller's records in a Store.

Keys follow libnetwork's datastore layout with the driver's data scope in front:
``{scope}/network/{nid}``, ``{scope}/endpoint/{nid}/{eid}`` and ``local/sandbox/{sid}``.
Values are compact JSON; a store that keeps objects (the memory store) keeps a private copy
of the record instead (:class:`Stored`), and readers get copies of it. With a global store
(:class:`~libnet.store.ScopedStore`) the ``global/`` keys live there;
``global/netname/{name}`` holds the ID of the global network named ``name``, so two hosts
creating one name at once cannot both commit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from libnet._records import EndpointRecord, NetworkRecord, SandboxRecord
from libnet.errors import (
    EndpointNotFoundError,
    InvalidOptionError,
    KeyNotFoundError,
    NetworkExistsError,
    NetworkNotFoundError,
    SandboxNotFoundError,
    StoreCorruptError,
    StoreUnavailableError,
)
from libnet.store import KVOps, KVPair
from libnet.store._api import Encodable

SCOPES = ("local", "global")

log = logging.getLogger("libnet")


_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_DECODER = json.JSONDecoder()


def _encode(record: Any) -> bytes:
    return _ENCODER.encode(vars(record)).encode()


def _decode(kind: type[Any], key: str, value: bytes) -> Any:
    try:
        record = kind(**_DECODER.decode(value.decode()))
    except (ValueError, TypeError) as exc:
        raise StoreCorruptError(
            f"state record {key!r} cannot be read ({exc}); it was left unchanged"
        ) from exc
    if kind is SandboxRecord:  # JSON has no tuples: make the endpoint pairs tuples again
        record.endpoints = [(nid, eid) for nid, eid in record.endpoints]
    return record


class Stored(Encodable):
    """A record as handed to a store: a copy no one changes; readers get copies of it."""

    __slots__ = ("record",)

    def __init__(self, record: Any) -> None:
        self.record = record

    def encode(self) -> bytes:
        return _encode(self.record)


def network_key(scope: str, nid: str) -> str:
    return f"{scope}/network/{nid}"


def name_key(name: str) -> str:
    return f"global/netname/{name}"


def endpoint_key(scope: str, nid: str, eid: str) -> str:
    return f"{scope}/endpoint/{nid}/{eid}"


def sandbox_key(sid: str) -> str:
    return f"local/sandbox/{sid}"


class RecordCache:
    """Decoded records by key, each valid while the key keeps the store index it had.

    An index names one write of one key for good (the store's counter never goes back
    for committed writes), so a cached record is returned, as a copy, only when the key's
    current index matches. Writes and deletes made in a transaction reach the cache only
    once it has committed (:meth:`State.commit_cache`).
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, tuple[int, Any]] = {}

    def get(self, kind: type[Any], pair: KVPair) -> Any:
        stored = pair.record
        if isinstance(stored, Stored):  # kept as an object: nothing to decode or cache
            return _copy(stored.record)
        if pair.index < 0:  # an operation's pending write: never cached
            return _decode(kind, pair.key, pair.value)
        hit = self._items.get(pair.key)
        if hit is not None and hit[0] == pair.index:
            return _copy(hit[1])
        record = _decode(kind, pair.key, pair.value)
        self._items[pair.key] = (pair.index, _copy(record))
        return record

    def peek(self, kind: type[Any], pair: KVPair) -> Any:
        """The record of ``pair``, not copied: the caller only reads it."""
        stored = pair.record
        if isinstance(stored, Stored):
            return stored.record
        if pair.index < 0:
            return _decode(kind, pair.key, pair.value)
        hit = self._items.get(pair.key)
        if hit is not None and hit[0] == pair.index:
            return hit[1]
        record = _decode(kind, pair.key, pair.value)
        self._items[pair.key] = (pair.index, record)
        return record

    def update(self, changes: dict[str, tuple[int, Any] | None]) -> None:
        for key, entry in changes.items():
            if entry is None:
                self._items.pop(key, None)
            else:
                self._items[key] = entry


def _copy(record: Any) -> Any:
    """A copy of ``record`` sharing nothing a caller could change in place with it."""
    new = object.__new__(type(record))
    new.__dict__.update(
        {
            name: _thaw(value) if type(value) in _MUTABLE else value
            for name, value in vars(record).items()
        }
    )
    return new


def _thaw(value: Any) -> Any:
    """A deep copy of a JSON-like ``value`` (dicts and lists copied, the rest immutable)."""
    kind = type(value)
    if kind is dict:
        return {k: _thaw(v) if type(v) in _MUTABLE else v for k, v in value.items()}
    if kind is list:
        return [_thaw(v) if type(v) in _MUTABLE else v for v in value]
    return value


_MUTABLE = frozenset((dict, list))
_PLAIN = (str, int, float, type(None))  # bool is an int


def _kept(key: str, record: Any) -> Any:
    """The deep copy of ``record`` a store keeps; InvalidOptionError for a value JSON
    cannot hold (checked for every store, so memory refuses what SQLite would)."""
    new = object.__new__(type(record))
    fields = new.__dict__
    for name, value in vars(record).items():
        if type(value) in _ATOMS:
            fields[name] = value
            continue
        try:
            fields[name] = _plain(value)
        except _Unstorable as exc:
            where = name + "".join(f"[{step!r}]" for step in reversed(exc.path))
            raise InvalidOptionError(
                f"{where} of state record {key!r} is a {type(exc.value).__name__}, which the "
                "state store cannot hold: use strings, numbers, booleans, None, lists and "
                "mappings"
            ) from None
    return new


class _Unstorable(Exception):
    def __init__(self, value: object) -> None:
        self.value = value
        self.path: list[object] = []


_ATOMS = frozenset((str, int, float, bool, type(None)))
"""The exact types of JSON's scalars, tested first (a set lookup beats isinstance)."""


def _plain(value: Any) -> Any:
    """A deep copy of ``value`` made of what JSON holds (tuples stay tuples)."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) not in _ATOMS and not isinstance(k, _PLAIN):
                raise _Unstorable(k)
            if type(v) in _ATOMS:
                out[k] = v
                continue
            try:
                out[k] = _plain(v)
            except _Unstorable as exc:
                exc.path.append(k)
                raise
        return out
    if kind is list or kind is tuple:
        items = []
        for i, v in enumerate(value):
            if type(v) in _ATOMS:
                items.append(v)
                continue
            try:
                items.append(_plain(v))
            except _Unstorable as exc:
                exc.path.append(i)
                raise
        return items if kind is list else tuple(items)
    if isinstance(value, _PLAIN):  # a subclass of str or int (an enum member)
        return value
    raise _Unstorable(value)


class State:
    """Reads and writes records through ``kv`` (a Store or one of its transactions).

    Each read gives a copy of the record the caller may change; with ``shared=True`` it
    gives the kept record itself, for callers that only read (the lock computations).
    """

    __slots__ = ("_cache", "_changes", "_read", "kv")

    def __init__(self, kv: KVOps, cache: RecordCache | None = None, shared: bool = False) -> None:
        self.kv = kv
        self._cache = cache or RecordCache()
        self._changes: dict[str, tuple[int, Any] | None] = {}
        self._read = self._cache.peek if shared else self._cache.get

    def commit_cache(self, indices: dict[str, int] | None = None) -> None:
        """Let the cache know the writes of this state's transaction (after it committed);
        ``indices`` gives the committed index of writes made through a Journal."""
        changes = self._changes
        if indices is not None:
            for key, entry in changes.items():
                if entry is not None:
                    index = indices.get(key)
                    changes[key] = None if index is None else (index, entry[1])
        self._cache.update(changes)
        changes.clear()

    def _get(self, kind: type[Any], key: str) -> Any:
        return self._read(kind, self.kv.get(key))

    def _list(self, kind: type[Any], prefix: str) -> list[Any]:
        read = self._read
        return [read(kind, pair) for pair in self.kv.list(prefix)]

    def _put(self, key: str, record: Any) -> None:
        kept = _kept(key, record)  # the store and the cache share it; they give out copies
        pair = self.kv.put_object(key, Stored(kept))
        self._changes[key] = (pair.index, kept)

    def _delete(self, key: str) -> None:
        self.kv.delete(key)
        self._changes[key] = None

    # networks

    def find_network(self, nid: str, *, shared: bool = False) -> NetworkRecord | None:
        """Network ``nid``, or None; ``shared=True`` gives the kept record itself, for a
        caller that only reads it (a network record never changes once created)."""
        read = self._cache.peek if shared else self._read
        for scope in SCOPES:
            try:
                pair = self.kv.get(network_key(scope, nid))
            except KeyNotFoundError:
                continue
            rec: NetworkRecord = read(NetworkRecord, pair)
            return rec
        return None

    def network(self, nid: str, *, shared: bool = False) -> NetworkRecord:
        rec = self.find_network(nid, shared=shared)
        if rec is None:
            raise NetworkNotFoundError(f"network {nid[:12]} not found")
        return rec

    def networks(self) -> list[NetworkRecord]:
        """Every network; with the global store unreachable, the local ones (and a warning)."""
        recs: list[NetworkRecord] = self._list(NetworkRecord, "local/network/")
        try:
            recs.extend(self._list(NetworkRecord, "global/network/"))
        except StoreUnavailableError as exc:
            log.warning("global networks left out: %s", exc)
        return recs

    def put_network(self, rec: NetworkRecord) -> None:
        if rec.scope == "global":  # the name is unique among every host's global networks
            try:
                owner = self.kv.get(name_key(rec.name)).value.decode()
            except KeyNotFoundError:
                owner = rec.id
            if owner != rec.id:
                raise NetworkExistsError(
                    f"network {rec.name!r} already exists (made by another host); "
                    "choose another name or remove it first"
                )
            self.kv.put(name_key(rec.name), rec.id.encode())
        self._put(network_key(rec.scope, rec.id), rec)

    def delete_network(self, rec: NetworkRecord) -> None:
        if rec.scope == "global" and self.kv.exists(name_key(rec.name)):
            self.kv.delete(name_key(rec.name))
        self._delete(network_key(rec.scope, rec.id))

    # endpoints

    def endpoint(self, net: NetworkRecord, eid: str, *, shared: bool = False) -> EndpointRecord:
        """Endpoint ``eid`` of ``net``; ``shared=True`` gives the kept record itself, for a
        caller that only reads it."""
        read = self._cache.peek if shared else self._read
        try:
            rec: EndpointRecord = read(
                EndpointRecord, self.kv.get(endpoint_key(net.scope, net.id, eid))
            )
        except KeyNotFoundError:
            raise EndpointNotFoundError(
                f"endpoint {eid[:12]} not found on network {net.name!r}"
            ) from None
        return rec

    def endpoints(self, net: NetworkRecord) -> list[EndpointRecord]:
        return self._list(EndpointRecord, f"{net.scope}/endpoint/{net.id}/")

    def has_endpoint_named(self, net: NetworkRecord, name: str) -> bool:
        """Whether an endpoint of ``net`` is named ``name`` (its records are not copied)."""
        peek = self._cache.peek
        prefix = f"{net.scope}/endpoint/{net.id}/"
        return any(peek(EndpointRecord, pair).name == name for pair in self.kv.list(prefix))

    def put_endpoint(self, net: NetworkRecord, rec: EndpointRecord) -> None:
        self._put(endpoint_key(net.scope, net.id, rec.id), rec)

    def delete_endpoint(self, net: NetworkRecord, rec: EndpointRecord) -> None:
        self._delete(endpoint_key(net.scope, net.id, rec.id))

    # sandboxes

    def sandbox(self, sid: str) -> SandboxRecord:
        try:
            rec: SandboxRecord = self._get(SandboxRecord, sandbox_key(sid))
        except KeyNotFoundError:
            raise SandboxNotFoundError(f"sandbox {sid[:12]} not found") from None
        return rec

    def sandboxes(self) -> list[SandboxRecord]:
        return self._list(SandboxRecord, "local/sandbox/")

    def put_sandbox(self, rec: SandboxRecord) -> None:
        self._put(sandbox_key(rec.id), rec)

    def delete_sandbox(self, rec: SandboxRecord) -> None:
        self._delete(sandbox_key(rec.id))
