"""Intents: what an operation in progress is about to do, recorded before its drivers run.

An intent is stored at ``local/intent/{id}`` when an operation starts, updated (in short
transactions) before each step a crash could leave behind, and deleted in the
transaction that commits the operation. One found later whose locks are free belongs to
a process that died mid-operation: the runtime rolls it back (see
``Runtime.recover`` and ARCHITECTURE.md, "Locks and intents").

``undo`` lists the steps to roll back, oldest first, each a JSON list:

* ``["ipam", driver, method, *args]``: an IPAM allocation to release
  (``release_pool`` / ``release_address``);
* ``["network", type, nid, options, ipv4, ipv6]``: a network the driver may have made;
* ``["endpoint", nid, eid, interface, options]``: an endpoint the driver may have made;
* ``["claim", key, steps]``: allocations of a global network, whose releases are stored at
  ``key`` in the global store beside them (``steps`` is absent until they commit; see
  ``libnet._addressing.release_claim``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from libnet.errors import StoreCorruptError
from libnet.store import Holder, KVOps

__all__ = ["INTENTS", "Intent", "intents"]

INTENTS = "local/intent/"


@dataclass
class Intent:
    """One operation in progress."""

    id: str
    what: str
    """What the operation does, as error messages name it."""
    pid: int
    command: str
    locks: dict[str, bool]
    """The object locks it holds (name -> exclusive); all free means its process died."""
    reserve: list[str] | None = None
    """``[kind, name]``: a name it is creating; other creates of that name are refused."""
    undo: list[list[Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return INTENTS + self.id

    @property
    def holder(self) -> Holder:
        return Holder(self.pid, self.command, 0.0)

    def encode(self) -> bytes:
        return json.dumps(vars(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, key: str, value: bytes) -> Intent:
        try:
            return cls(**json.loads(value))
        except (ValueError, TypeError) as exc:
            raise StoreCorruptError(
                f"intent record {key!r} cannot be read ({exc}); it was left unchanged"
            ) from exc

    def save(self, kv: KVOps) -> None:
        kv.put(self.key, self.encode())


def intents(kv: KVOps) -> list[Intent]:
    """Every intent recorded in ``kv``."""
    return [Intent.decode(pair.key, pair.value) for pair in kv.list(INTENTS)]
