"""Sandbox: a container's network stack, to which endpoints are joined."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from libnet._records import SandboxRecord

if TYPE_CHECKING:
    from libnet.controller import Controller
    from libnet.network import Endpoint

__all__ = ["Sandbox"]


class Sandbox:
    """A container's sandbox. The object is a handle: it reads the current state.

    ``key`` is the path of the network namespace (``/proc/PID/ns/net``,
    ``/run/netns/NAME``), or None for a logical sandbox with no kernel object.
    """

    __slots__ = ("_c", "id")

    def __init__(self, controller: Controller, sandbox_id: str) -> None:
        self._c = controller
        self.id = sandbox_id

    def _rec(self) -> SandboxRecord:
        return self._c._sandbox_record(self.id)

    @property
    def container_id(self) -> str:
        return self._rec().container_id

    @property
    def key(self) -> str | None:
        return self._rec().key

    @property
    def created(self) -> str:
        return self._rec().created

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sandbox) and other.id == self.id and other._c is self._c

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Sandbox {self.id[:12]} of container {self.container_id!r}>"

    def endpoints(self) -> list[Endpoint]:
        """The joined endpoints, in join order."""
        with self._c._lock:
            return [
                self._c.network_by_id(nid).endpoint_by_id(eid) for nid, eid in self._rec().endpoints
            ]

    def delete(self) -> None:
        """Leave every joined endpoint, then forget the sandbox.

        All or nothing: if one endpoint fails to leave, the ones that already left join
        again and the error is raised.
        """
        with self._c._lock:
            rec = self._rec()
            left: list[tuple[Endpoint, dict[str, Any]]] = []
            try:
                for ep in reversed(self.endpoints()):
                    options = dict(ep._rec().join_options)
                    ep.leave(self)
                    left.append((ep, options))
            except BaseException:
                for ep, options in reversed(left):
                    ep.join(self, options=options)
                raise
            del self._c._sandboxes[rec.id]

    def to_dict(self) -> dict[str, Any]:
        """The sandbox as plain values, as ``libnet sandbox inspect`` prints it."""
        with self._c._lock:
            rec = self._rec()
            return {
                "id": rec.id,
                "container_id": rec.container_id,
                "key": rec.key,
                "created": rec.created,
                "endpoints": [
                    {"network": nid, "endpoint": eid} for nid, eid in rec.endpoints
                ],
            }
