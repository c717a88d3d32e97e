"""A failure injected at each step of create, join, leave and delete.

Every kernel change (each netlink request that adds, sets or deletes a link, address, route,
rule or bridge port; each mount, unmount and unshare of the OS layer) and every write of a
record is a step. For each operation the test fails step 1, then step 2, and so on until the
operation completes without reaching the failing step. After each failure:

* the operation raised, and the kernel (links, addresses, routes, rules, the namespaces
  under /run/netns and what is inside them) and the store are exactly as before it; or
* the step was after the commit (removing a sandbox's namespace): the operation completed,
  and reconciliation removes the orphan it left.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import libnet
from libnet import _state
from libnet.osl import _sys, rtnl

from ._kernel import snapshot, store_dump

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}
MUTATING = {
    "link": {"add", "set", "del"},
    "addr": {"add", "del"},
    "route": {"add", "del", "replace"},
    "rule": {"add", "del"},
    "brport": {"set"},
    "fdb": {"add", "append", "replace", "del"},
    "neigh": {"add", "replace", "del"},
}


class Injected(Exception):
    pass


class Injector:
    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.count = 0
        self.fired: str | None = None

    def step(self, what: str) -> None:
        self.count += 1
        if self.count == self.fail_at:
            self.fired = what
            from pyroute2.netlink.exceptions import NetlinkError

            raise NetlinkError(errno.EBUSY, f"injected failure at step {self.count}: {what}")


class _Proxy:
    """An IPRoute whose mutating requests are steps."""

    def __init__(self, ipr: Any, injector: Injector) -> None:
        self._ipr = ipr
        self._injector = injector

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ipr, name)
        if name not in MUTATING:
            return attr

        def call(command: str, *args: Any, **kwargs: Any) -> Any:
            if command in MUTATING[name]:
                self._injector.step(f"{name} {command} {kwargs}")
            return attr(command, *args, **kwargs)

        return call


@contextmanager
def inject(fail_at: int, injector: Injector | None = None) -> Iterator[Injector]:
    injector = injector if injector is not None else Injector(fail_at)
    real_connect = rtnl.connect

    def connect(netns: str | None = None) -> Any:
        return _Proxy(real_connect(netns), injector)

    def wrap(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            injector.step(f"{what} {args}")
            return fn(*args, **kwargs)

        return wrapped

    def wrap_os(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                injector.step(f"{what} {args}")
            except Exception as exc:
                raise OSError(errno.EBUSY, str(exc)) from None
            return fn(*args, **kwargs)

        return wrapped

    patches = [
        mock.patch.object(rtnl, "connect", connect),
        mock.patch.object(_sys, "mount", wrap_os(_sys.mount, "mount")),
        mock.patch.object(_sys, "umount", wrap_os(_sys.umount, "umount")),
        mock.patch.object(_sys, "unshare", wrap_os(_sys.unshare, "unshare")),
    ]
    for method in (
        "put_network",
        "put_endpoint",
        "put_sandbox",
        "delete_network",
        "delete_endpoint",
        "delete_sandbox",
    ):
        patches.append(
            mock.patch.object(
                _state.State, method, wrap(getattr(_state.State, method), f"store {method}")
            )
        )
    for p in patches:
        p.start()
    try:
        yield injector
    finally:
        for p in reversed(patches):
            p.stop()


Setup = Callable[[libnet.Controller], dict[str, Any]]
Action = Callable[[libnet.Controller, dict[str, Any]], Any]


def _network(c: libnet.Controller) -> dict[str, Any]:
    return {"network": c.new_network("bridge", "n1", ipam=N1)}


def _endpoint(c: libnet.Controller) -> dict[str, Any]:
    objs = _network(c)
    objs["endpoint"] = objs["network"].create_endpoint("e1")
    objs["sandbox"] = c.new_sandbox("c1", create=True)
    return objs


def _joined(c: libnet.Controller) -> dict[str, Any]:
    objs = _endpoint(c)
    other = objs["network"].create_endpoint("e0")  # so e1's interface is eth1
    other.join(objs["sandbox"])
    objs["endpoint"].join(objs["sandbox"])
    return objs


CASES: dict[str, tuple[Setup, Action]] = {
    "create network": (
        lambda c: {},
        lambda c, o: c.new_network("bridge", "n1", ipam=N1),
    ),
    "create internal network without icc": (
        lambda c: {},
        lambda c, o: c.new_network(
            "bridge",
            "n1",
            internal=True,
            options={
                "com.docker.network.bridge.enable_icc": "false",
                "com.docker.network.driver.mtu": "1400",
            },
            ipam=N1,
        ),
    ),
    "create endpoint": (_network, lambda c, o: o["network"].create_endpoint("e1")),
    "create sandbox": (lambda c: {}, lambda c, o: c.new_sandbox("c1", create=True)),
    "join": (_endpoint, lambda c, o: o["endpoint"].join(o["sandbox"])),
    "leave": (_joined, lambda c, o: o["endpoint"].leave(o["sandbox"])),
    "delete endpoint": (_endpoint, lambda c, o: o["endpoint"].delete()),
    "delete joined endpoint": (_joined, lambda c, o: o["endpoint"].delete(force=True)),
    "delete sandbox": (_joined, lambda c, o: o["sandbox"].delete()),
    "delete network": (_joined, lambda c, o: o["network"].delete(force=True)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_failure_at_each_step_leaves_the_prior_state(case: str, tmp_path: Path) -> None:
    setup, action = CASES[case]
    with libnet.Controller(state_dir=tmp_path) as c:
        objs = setup(c)
        kernel, store = snapshot(), store_dump(c)
        fired_any = False
        for k in range(1, 200):
            with inject(k) as injector:
                try:
                    action(c, objs)
                except Exception as exc:
                    assert injector.fired, f"step {k}: failed without an injection: {exc!r}"
                    fired_any = True
                    assert snapshot() == kernel, (
                        f"kernel differs after a failure at {injector.fired}"
                    )
                    assert store_dump(c) == store, (
                        f"store differs after a failure at {injector.fired}"
                    )
                    continue
            # Completed: either no step was failed (we are past the last one), or the failed
            # step came after the commit and left an orphan for reconciliation.
            if injector.fired:
                report = c.reconcile(repair=True)
                assert report.ok and report.findings, (injector.fired, report)
            assert c.reconcile(repair=False).findings == []
            if not injector.fired:
                break
            objs = _redo(case, c, setup, tmp_path)
            kernel, store = snapshot(), store_dump(c)
        else:
            pytest.fail("the operation never completed")
        assert fired_any
        assert k > 1


def _redo(case: str, c: libnet.Controller, setup: Setup, tmp_path: Path) -> dict[str, Any]:
    """After an operation completed despite a failure (after its commit), start again."""
    for sandbox in c.sandboxes():
        sandbox.delete()
    for network in c.networks():
        network.delete(force=True)
    return setup(c)
