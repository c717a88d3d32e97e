"""The child process of ``test_locks``: ``python -m persistence._locks_worker CMD DIR ...``.

It opens a controller on state directory DIR with a :class:`HoldingDriver` serving
``hold`` and runs one command, printing one JSON line when done. A network or endpoint
created with option ``hang=PATH`` makes the driver write ``PATH/entered`` and wait for
``PATH/release`` inside ``create_network`` / ``create_endpoint``: a plugin that hangs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import libnet
from libnet import labels

HOLD = "hold"
LOCAL = libnet.Capability(libnet.Scope.LOCAL)


class HoldingDriver(libnet.Driver):
    """Keeps its networks and endpoints in memory, refusing duplicates and unknown IDs as
    a real driver does; hangs on demand (see the module doc)."""

    def __init__(self) -> None:
        self.networks: set[str] = set()
        self.endpoints: set[tuple[str, str]] = set()
        self.calls: list[list[str]] = []

    @staticmethod
    def _hang(options: Any) -> None:
        where = dict(options or {}).get("hang")
        if not where:
            return
        Path(where, "entered").write_text("")
        deadline = time.monotonic() + 120
        while not Path(where, "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    def create_network(self, nid: str, options: Any, ipv4: Any, ipv6: Any) -> None:
        self.calls.append(["create_network", nid])
        if nid in self.networks:
            raise ValueError(f"network {nid} exists")
        self._hang(options.get(labels.GENERIC))
        self.networks.add(nid)

    def restore_network(self, nid: str, options: Any, ipv4: Any, ipv6: Any) -> None:
        self.calls.append(["restore_network", nid])
        self.networks.add(nid)

    def delete_network(self, nid: str) -> None:
        self.calls.append(["delete_network", nid])
        if nid not in self.networks:
            raise ValueError(f"no network {nid}")
        self.networks.remove(nid)

    def create_endpoint(self, nid: str, eid: str, iface: Any, options: Any) -> None:
        self.calls.append(["create_endpoint", eid])
        if nid not in self.networks:
            raise ValueError(f"no network {nid}")
        self._hang(options)
        self.endpoints.add((nid, eid))

    def restore_endpoint(self, nid: str, eid: str, iface: Any, options: Any) -> None:
        self.calls.append(["restore_endpoint", eid])
        self.endpoints.add((nid, eid))

    def delete_endpoint(self, nid: str, eid: str) -> None:
        self.calls.append(["delete_endpoint", eid])
        if (nid, eid) not in self.endpoints:
            raise ValueError(f"no endpoint {eid}")
        self.endpoints.remove((nid, eid))

    def join(self, nid: str, eid: str, key: Any, jinfo: Any, options: Any) -> None:
        if (nid, eid) not in self.endpoints:
            raise ValueError(f"no endpoint {eid}")

    def leave(self, nid: str, eid: str) -> None:
        if (nid, eid) not in self.endpoints:
            raise ValueError(f"no endpoint {eid}")

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        return {}

    def program_external_connectivity(self, nid: str, eid: str, options: Any) -> None:
        pass

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        pass


def open_controller(state_dir: str) -> tuple[libnet.Controller, HoldingDriver]:
    driver = HoldingDriver()
    controller = libnet.Controller(state_dir=state_dir, plugins="off")
    controller.register_driver(HOLD, driver, LOCAL)
    return controller, driver


def main(argv: list[str]) -> int:
    command, state_dir, *args = argv
    controller, driver = open_controller(state_dir)
    result: dict[str, Any] = {}
    with controller:
        try:
            if command == "create-network":  # NAME HANG
                net = controller.new_network(HOLD, args[0], options={"hang": args[1]})
                result["id"] = net.id
            elif command == "create-endpoint":  # NETWORK NAME HANG
                ep = controller.network(args[0]).create_endpoint(args[1], options={"hang": args[2]})
                result["id"] = ep.id
            elif command == "delete-network":  # NAME
                controller.network(args[0]).delete(force=True)
            elif command == "delete-endpoint":  # NETWORK NAME
                controller.network(args[0]).endpoint(args[1]).delete(force=True)
            elif command == "create-all":  # NAME ENDPOINT
                ep = controller.new_network(HOLD, args[0]).create_endpoint(args[1])
                result["id"] = ep.id
        except libnet.LibnetError as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
    result["calls"] = driver.calls
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
