"""Typed access to the controller's records in a Store.

Keys follow libnetwork's datastore layout with the driver's data scope in front:
``{scope}/network/{nid}``, ``{scope}/endpoint/{nid}/{eid}`` and ``local/sandbox/{sid}``.
Values are compact JSON. Until a distributed backend exists both scopes live in one store.
"""

from __future__ import annotations

import json
from typing import Any

from libnet._records import EndpointRecord, NetworkRecord, SandboxRecord
from libnet.errors import (
    EndpointNotFoundError,
    KeyNotFoundError,
    NetworkNotFoundError,
    SandboxNotFoundError,
    StoreCorruptError,
)
from libnet.store import KVOps

SCOPES = ("local", "global")


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_DECODER = json.JSONDecoder()


def _encode(record: Any) -> bytes:
    return _ENCODER.encode(vars(record)).encode()


def _decode(kind: type[Any], key: str, value: bytes) -> Any:
    try:
        return kind(**_DECODER.decode(value.decode()))
    except (ValueError, TypeError) as exc:
        raise StoreCorruptError(
            f"state record {key!r} cannot be read ({exc}); it was left unchanged"
        ) from exc


def network_key(scope: str, nid: str) -> str:
    return f"{scope}/network/{nid}"


def endpoint_key(scope: str, nid: str, eid: str) -> str:
    return f"{scope}/endpoint/{nid}/{eid}"


def sandbox_key(sid: str) -> str:
    return f"local/sandbox/{sid}"


class State:
    """Reads and writes records through ``kv`` (a Store or one of its transactions)."""

    __slots__ = ("kv",)

    def __init__(self, kv: KVOps) -> None:
        self.kv = kv

    # networks

    def find_network(self, nid: str) -> NetworkRecord | None:
        for scope in SCOPES:
            key = network_key(scope, nid)
            try:
                pair = self.kv.get(key)
            except KeyNotFoundError:
                continue
            rec: NetworkRecord = _decode(NetworkRecord, key, pair.value)
            return rec
        return None

    def network(self, nid: str) -> NetworkRecord:
        rec = self.find_network(nid)
        if rec is None:
            raise NetworkNotFoundError(f"network {nid[:12]} not found")
        return rec

    def networks(self) -> list[NetworkRecord]:
        recs: list[NetworkRecord] = []
        for scope in SCOPES:
            recs.extend(
                _decode(NetworkRecord, p.key, p.value) for p in self.kv.list(f"{scope}/network/")
            )
        return recs

    def put_network(self, rec: NetworkRecord) -> None:
        self.kv.put(network_key(rec.scope, rec.id), _encode(rec))

    def delete_network(self, rec: NetworkRecord) -> None:
        self.kv.delete(network_key(rec.scope, rec.id))

    # endpoints

    def endpoint(self, net: NetworkRecord, eid: str) -> EndpointRecord:
        key = endpoint_key(net.scope, net.id, eid)
        try:
            pair = self.kv.get(key)
        except KeyNotFoundError:
            raise EndpointNotFoundError(
                f"endpoint {eid[:12]} not found on network {net.name!r}"
            ) from None
        rec: EndpointRecord = _decode(EndpointRecord, key, pair.value)
        return rec

    def endpoints(self, net: NetworkRecord) -> list[EndpointRecord]:
        prefix = f"{net.scope}/endpoint/{net.id}/"
        return [_decode(EndpointRecord, p.key, p.value) for p in self.kv.list(prefix)]

    def put_endpoint(self, net: NetworkRecord, rec: EndpointRecord) -> None:
        self.kv.put(endpoint_key(net.scope, net.id, rec.id), _encode(rec))

    def delete_endpoint(self, net: NetworkRecord, rec: EndpointRecord) -> None:
        self.kv.delete(endpoint_key(net.scope, net.id, rec.id))

    # sandboxes

    def sandbox(self, sid: str) -> SandboxRecord:
        key = sandbox_key(sid)
        try:
            pair = self.kv.get(key)
        except KeyNotFoundError:
            raise SandboxNotFoundError(f"sandbox {sid[:12]} not found") from None
        return _sandbox(key, pair.value)

    def sandboxes(self) -> list[SandboxRecord]:
        return [_sandbox(p.key, p.value) for p in self.kv.list("local/sandbox/")]

    def put_sandbox(self, rec: SandboxRecord) -> None:
        self.kv.put(sandbox_key(rec.id), _encode(rec))

    def delete_sandbox(self, rec: SandboxRecord) -> None:
        self.kv.delete(sandbox_key(rec.id))


def _sandbox(key: str, value: bytes) -> SandboxRecord:
    rec: SandboxRecord = _decode(SandboxRecord, key, value)
    rec.endpoints = [(nid, eid) for nid, eid in rec.endpoints]
    return rec
