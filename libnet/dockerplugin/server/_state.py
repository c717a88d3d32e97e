"""What Docker told a served plugin, kept in a Store so a restarted plugin still knows it.

Docker never replays networks or endpoints to a plugin that restarted, so the plugin
keeps the CreateNetwork and CreateEndpoint requests it accepted (the endpoint with the
interface the driver completed) and replays them to its driver at start. Keys:
``plugin/NAME/network/NID`` and ``plugin/NAME/endpoint/NID/EID``; values are the request
bodies as JSON.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from libnet.errors import KeyNotFoundError, StoreCorruptError
from libnet.store import Store

__all__ = ["PluginState"]


def _load(key: str, value: bytes) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise StoreCorruptError(f"plugin record {key!r} cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise StoreCorruptError(f"plugin record {key!r} is not a JSON object")
    return data


class PluginState:
    """The networks and endpoints of one served plugin, as the requests that created them."""

    __slots__ = ("_prefix", "_store")

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self._prefix = f"plugin/{name}/"

    def _net_key(self, nid: str) -> str:
        return f"{self._prefix}network/{nid}"

    def _ep_key(self, nid: str, eid: str) -> str:
        return f"{self._prefix}endpoint/{nid}/{eid}"

    def network(self, nid: str) -> dict[str, Any] | None:
        """The stored CreateNetwork request of ``nid``, or None."""
        key = self._net_key(nid)
        try:
            return _load(key, self._store.get(key).value)
        except KeyNotFoundError:
            return None

    def networks(self) -> list[tuple[str, dict[str, Any]]]:
        """Every stored network as (ID, request), in key order."""
        prefix = f"{self._prefix}network/"
        return [(p.key[len(prefix) :], _load(p.key, p.value)) for p in self._store.list(prefix)]

    def endpoint(self, nid: str, eid: str) -> dict[str, Any] | None:
        """The stored CreateEndpoint request of ``eid`` (with the final Interface), or None."""
        key = self._ep_key(nid, eid)
        try:
            return _load(key, self._store.get(key).value)
        except KeyNotFoundError:
            return None

    def endpoints(self, nid: str) -> list[tuple[str, dict[str, Any]]]:
        """The stored endpoints of network ``nid`` as (ID, request)."""
        prefix = f"{self._prefix}endpoint/{nid}/"
        return [(p.key[len(prefix) :], _load(p.key, p.value)) for p in self._store.list(prefix)]

    def put_network(self, nid: str, request: dict[str, Any]) -> None:
        self._store.put(self._net_key(nid), json.dumps(request, separators=(",", ":")).encode())

    def put_endpoint(self, nid: str, eid: str, request: dict[str, Any]) -> None:
        self._store.put(self._ep_key(nid, eid), json.dumps(request, separators=(",", ":")).encode())

    def delete_network(self, nid: str) -> None:
        """Forget the network and any endpoint of it still recorded, in one transaction."""
        with self._store.transaction() as tx:
            for pair in tx.list(f"{self._prefix}endpoint/{nid}/"):
                tx.delete(pair.key)
            if tx.exists(self._net_key(nid)):
                tx.delete(self._net_key(nid))

    def delete_endpoint(self, nid: str, eid: str) -> None:
        key = self._ep_key(nid, eid)
        with contextlib.suppress(KeyNotFoundError):
            self._store.delete(key)
