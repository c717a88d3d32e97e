"""Sandbox: a container's network stack, to which endpoints are joined."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from libnet._records import SandboxRecord
from libnet._runtime import network_lock, sandbox_lock
from libnet._state import State
from libnet.errors import OSLayerError
from libnet.network import Endpoint, Network

if TYPE_CHECKING:
    from libnet._runtime import Runtime

__all__ = ["Sandbox"]

log = logging.getLogger("libnet")


class Sandbox:
    """A container's sandbox. The object is a handle: it reads the current state.

    ``key`` is the path of the network namespace (``/proc/PID/ns/net``,
    ``/run/netns/NAME``), or None for a logical sandbox with no kernel object.
    """

    __slots__ = ("_rt", "id")

    def __init__(self, runtime: Runtime, sandbox_id: str) -> None:
        self._rt = runtime
        self.id = sandbox_id

    def _rec(self) -> SandboxRecord:
        return self._rt.read().sandbox(self.id)

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
        return isinstance(other, Sandbox) and other.id == self.id and other._rt is self._rt

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Sandbox {self.id[:12]}>"

    def endpoints(self) -> list[Endpoint]:
        """The joined endpoints, in join order."""
        return [Endpoint(Network(self._rt, nid), eid) for nid, eid in self._rec().endpoints]

    def delete(self) -> None:
        """Leave every joined endpoint (newest first), then forget the sandbox.

        All or nothing: if one endpoint fails to leave, the ones that already left join
        again and the error is raised.
        """
        with self._rt.operation("deletion of a sandbox", locks=self._locks) as op:
            st = op.state
            op.discard.add(sandbox_lock(self.id))
            for nid, eid in reversed(list(st.sandbox(self.id).endpoints)):
                net = st.network(nid)
                endpoint = Endpoint(Network(self._rt, nid), eid)
                endpoint._leave(op, net, st.endpoint(net, eid))
            rec = st.sandbox(self.id)
            st.delete_sandbox(rec)
            if rec.owns_key and rec.key:
                # Once the removal is committed: a namespace left by a crash before that
                # point is an orphan for reconciliation, never a sandbox without one.
                op.on_success(_delete_namespace, rec.key)

    def _locks(self, st: State) -> dict[str, str]:
        """The sandbox's lock and the locks of the networks of its endpoints."""
        rec = st.sandbox(self.id)
        names = {sandbox_lock(rec.id): f"sandbox {rec.id[:12]}"}
        for nid, _ in rec.endpoints:
            net = st.find_network(nid)
            lock = network_lock(nid, net.scope if net else "local")
            names[lock] = f"network {net.name!r}" if net else f"network {nid[:12]}"
        return names

    def to_dict(self) -> dict[str, Any]:
        """The sandbox as plain values, as ``libnet sandbox inspect`` prints it."""
        rec = self._rec()
        return {
            "id": rec.id,
            "container_id": rec.container_id,
            "key": rec.key,
            "namespace_created_by_libnet": rec.owns_key,
            "created": rec.created,
            "endpoints": [{"network": nid, "endpoint": eid} for nid, eid in rec.endpoints],
        }


def _delete_namespace(key: str) -> None:
    from libnet.osl import delete_namespace

    try:
        delete_namespace(key)
    except OSLayerError as exc:
        log.warning("%s; 'libnet doctor --repair' removes it", exc)
