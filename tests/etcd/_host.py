"""One libnet "host" for the global-scope tests: a process with its own state directory.

``python _host.py STATE_DIR URL ACTION [ARGS...]`` opens a Controller on STATE_DIR and the
global store URL, with ``gnull``: the null driver registered as global-scope (a real
driver; only its data scope differs), and prints one JSON line per result.
Actions: ``create NAME [SUBNET]``, ``ls``, ``endpoints NAME COUNT PREFIX``, ``rm NAME``,
``hang NAME EP`` (creates an endpoint whose driver call never returns), ``recover``,
``loop NAME SECONDS`` (creates and deletes endpoints until told to stop), ``die NAME EP``
(creates an endpoint and SIGKILLs itself once its address is committed in etcd, before
the rest of that transaction, the local part, is: the fault is this file's, see
``die_after_global_allocation``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

from libnet import Controller
from libnet.driverapi import Capability, InterfaceInfo, Scope
from libnet.drivers.null import NullDriver
from libnet.errors import LibnetError, OperationTimeoutError


class HangingNull(NullDriver):
    """The null driver, whose endpoint creation hangs when asked to (SIGKILL comes)."""

    hang = False

    def create_endpoint(self, *args: Any, **kwargs: Any) -> InterfaceInfo | None:
        if self.hang:
            # Driver code's prints go to stderr (libnet._output): write to the real stdout.
            print(json.dumps({"hanging": True}), file=sys.__stdout__, flush=True)
            time.sleep(3600)
        return super().create_endpoint(*args, **kwargs)


def die_after_global_allocation() -> None:
    """SIGKILL this process right after a transaction that takes an address from the global
    default pools commits its global part (etcd), before its local part (SQLite)."""
    from libnet.store.scoped import ScopedTransaction

    allocating: set[int] = set()
    put, exit_ = ScopedTransaction.put, ScopedTransaction.__exit__

    def noting_put(self: ScopedTransaction, key: str, value: bytes) -> Any:
        if key.startswith("ipam/default/bits/GlobalDefault/"):
            allocating.add(id(self))
        return put(self, key, value)

    def dying_exit(self: ScopedTransaction, *exc: Any) -> None:
        if id(self) in allocating and exc[0] is None and self._global is not None:
            self._global.__exit__(None, None, None)  # the address is in etcd now
            print(json.dumps({"dying": True}), file=sys.__stdout__, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        exit_(self, *exc)

    ScopedTransaction.put = noting_put  # type: ignore[method-assign]
    ScopedTransaction.__exit__ = dying_exit  # type: ignore[method-assign]


def out(**data: Any) -> None:
    print(json.dumps(data), flush=True)


def main(state: str, url: str, action: str, *args: str) -> None:
    driver = HangingNull()
    with Controller(state_dir=state, global_store=url) as ctl:
        ctl.register_driver("gnull", driver, Capability(Scope.GLOBAL))
        try:
            if action == "create":
                ipam = {"config": [{"subnet": args[1]}]} if len(args) > 1 else {}
                out(id=ctl.new_network("gnull", args[0], ipam=ipam).id, host=ctl.host_id)
            elif action == "ls":
                out(networks=[[n.name, n.scope] for n in ctl.networks()], host=ctl.host_id)
            elif action == "endpoints":
                net = ctl.network(args[0])
                for i in range(int(args[1])):
                    ep = net.create_endpoint(f"{args[2]}{i}")
                    out(name=ep.name, address=ep.to_dict()["address"])
            elif action == "rm":
                ctl.network(args[0]).delete()
                out(deleted=args[0])
            elif action == "hang":
                driver.hang = True
                ctl.network(args[0]).create_endpoint(args[1])
            elif action == "die":
                net = ctl.network(args[0])
                die_after_global_allocation()
                net.create_endpoint(args[1])
            elif action == "recover":
                ctl.network(args[0]).endpoints()  # an operation's start rolls back intents
                ctl._rt.recover()
                out(recovered=True)
            elif action == "loop":
                net = ctl.network(args[0])
                deadline, done = time.monotonic() + float(args[1]), 0
                retried, attempt, unsure = 0, 0, []
                while time.monotonic() < deadline:
                    attempt += 1  # a new name each time: a timed-out call may have applied
                    try:
                        ep = net.create_endpoint(f"loop{attempt}")
                        ep.delete()
                        done += 1
                    except OperationTimeoutError:  # retryable: etcd choosing a new leader
                        retried += 1
                        unsure.append(f"loop{attempt}")
                for name in unsure:  # settle what a timeout left unknown, as a caller would
                    for _ in range(20):
                        try:
                            if name in {e.name for e in net.endpoints()}:
                                net.endpoint(name).delete()
                            break
                        except OperationTimeoutError:
                            time.sleep(0.5)
                out(loops=done, retried=retried)
        except LibnetError as exc:
            out(error=type(exc).__name__, message=str(exc))


if __name__ == "__main__":
    main(*sys.argv[1:])
