"""Overlay networks through the controller, as a user runs them: ``libnet agent`` in each of
three host namespaces (state directories of their own, real etcd on the underlay), and
every network, endpoint and sandbox made and removed by ``libnet`` commands run in the
hosts. The hosts are Docker-like (bridges call iptables, ``FORWARD`` policy ``DROP``, a
``DOCKER-USER`` chain), so the overlay's own firewall rules are part of what is checked.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pyroute2.netlink.exceptions import NetlinkError

import libnet
from libnet.errors import StoreError
from libnet.store import DriverStore, SqliteStore

from ._agents import ROOT_ADDR, Agents, agents, wait_for
from ._firewall import FailingTools, host_like, needs_iptables
from ._kernel import iptables, snapshot
from ._overlay import kernel_state, pings
from .test_faults import Injector, inject
from .test_overlay_firewall import docker_like, ipt_in

SUBNET = "10.200.0.0/24"


def _heads(key: str) -> bool:
    """The built-in allocator's change stamps: a failed operation releases its allocations
    in a transaction of its own, which moves them on (see ``store_dump``)."""
    return key.startswith("ipam/default/heads/")


def host_state(a: Agents, n: int) -> dict[str, Any]:
    """Links, vxlan FDB and neighbour entries, and iptables of host ``n``."""
    key = a.c.hosts[n - 1].key
    return {**kernel_state(key), "iptables": iptables(key)}


def records(a: Agents) -> dict[str, Any]:
    """The records of the global store (the hosts' leases aside) and of each host's local
    store (the built-in allocator's change stamps aside)."""
    out: dict[str, Any] = {
        "global": {
            p.key: p.value
            for p in a.c.store.list("")
            if not p.key.startswith("nodes/") and not _heads(p.key)
        }
    }
    for n in (1, 2, 3):
        path = a.state(n) / "state.db"
        if path.exists():
            local = SqliteStore(a.state(n))
            try:
                out[f"host{n}"] = {p.key: p.value for p in local.list("") if not _heads(p.key)}
            finally:
                local.close()
    return out


def sandbox_on(a: Agents, n: int, network: str) -> tuple[str, str]:
    """On host ``n``: sandbox ``cN`` (a namespace of its own) joined by endpoint ``eN``;
    the sandbox's key and the endpoint's address."""
    a.libnet(n, "sandbox", "create", f"c{n}", "--create")
    a.libnet(n, "endpoint", "create", network, f"e{n}")
    a.libnet(n, "endpoint", "join", network, f"e{n}", f"c{n}")
    (box,) = json.loads(a.libnet(n, "sandbox", "inspect", f"c{n}"))
    (ep,) = json.loads(a.libnet(n, "endpoint", "inspect", network, f"e{n}"))
    return str(box["key"]), str(ep["address"]).split("/")[0]


def test_deleting_the_network_removes_every_link_fdb_and_neighbour_entry_on_every_host(
    tmp_path: Path,
) -> None:
    with agents(tmp_path, cli=True) as a:
        docker_like(a.c, docker_user=True)
        before = {n: host_state(a, n) for n in (1, 2, 3)}
        stored = records(a)
        a.libnet(1, "network", "create", "-d", "overlay", "--subnet", SUBNET, "ov1")
        boxes = [sandbox_on(a, n, "ov1") for n in (1, 2, 3)]
        for n in (1, 2, 3):
            wait_for(lambda n=n: len(host_state(a, n)["fdb"]) == 2, 10, f"host {n}'s peers")
        for key, _ in boxes:
            for _, address in boxes:
                assert pings(key, address), f"{key} cannot reach {address}"
        for n in (1, 2, 3):
            state = host_state(a, n)
            assert [name for name, *_ in state["links"] if name.startswith("ovbr")]
            assert len(state["neigh"]) == 2
        # libnet doctor, a process of its own, finds a rule removed by hand and repairs it.
        (rule,) = [r for r in ipt_in(a.c.hosts[2].key, "-S").splitlines() if ":overlay:" in r]
        ipt_in(a.c.hosts[2].key, *shlex.split(rule.replace("-A ", "-D ", 1)))
        assert "firewall rule is missing" in a.libnet(3, "doctor", status=1)
        a.libnet(3, "doctor", "--repair")
        assert "no problems found" in a.libnet(3, "doctor")
        made = records(a)
        assert all(made[f"host{n}"] != stored.get(f"host{n}") for n in (1, 2, 3))
        assert any(key.startswith("overlay/") for key in made["global"])
        for n in (1, 2, 3):
            a.libnet(n, "endpoint", "leave", "ov1", f"e{n}", f"c{n}")
            a.libnet(n, "endpoint", "rm", "ov1", f"e{n}")
            a.libnet(n, "sandbox", "rm", f"c{n}")
        a.libnet(2, "network", "rm", "ov1")  # not the host that created it
        for n in (1, 2, 3):
            assert host_state(a, n) == before[n], f"host {n} kept kernel objects"
        assert records(a) == stored


# -- failures injected through the controller ----------------------------------------------

DRIVER_WRITES = ("put", "create", "compare_and_swap", "delete", "compare_and_delete")


@contextmanager
def driver_store_steps(injector: Injector) -> Iterator[None]:
    """Every write of a driver to its view of the global store is a step too."""

    def wrap(name: str) -> Any:
        real = getattr(DriverStore, name)

        def write(self: DriverStore, *args: Any, **kwargs: Any) -> Any:
            try:
                injector.step(f"driver store {name} {args[:1]}")
            except Exception as exc:
                raise StoreError(str(exc)) from None
            return real(self, *args, **kwargs)

        return write

    with contextlib.ExitStack() as stack:
        for name in DRIVER_WRITES:
            stack.enter_context(mock.patch.object(DriverStore, name, wrap(name)))
        yield


@dataclass
class Here:
    """The test's namespace as host 0 (on the underlay at ROOT_ADDR): a controller with
    its own state directory, and its own ``libnet agent``."""

    a: Agents
    c: libnet.Controller
    objs: dict[str, Any]

    def everything(self) -> tuple[Any, ...]:
        """Every host's kernel (this one's with the namespaces under /run/netns) and every
        record (global, each host's local store, this controller's)."""
        here = f"/proc/{os.getpid()}/ns/net"
        local = {p.key: p.value for p in self.c.local_store.list("") if not _heads(p.key)}
        return (
            snapshot(),
            kernel_state(here),
            tuple(host_state(self.a, n) for n in (1, 2, 3)),
            records(self.a),
            local,
        )


OV = {"config": [{"subnet": "10.201.0.0/24"}]}


def _network(h: Here) -> None:
    h.objs["network"] = h.c.network("ov1")


def _endpoint(h: Here) -> None:
    _network(h)
    h.objs["endpoint"] = h.objs["network"].create_endpoint("e0")
    h.objs["sandbox"] = h.c.new_sandbox("c0", create=True)


def _joined(h: Here) -> None:
    _endpoint(h)
    h.objs["endpoint"].join(h.objs["sandbox"])


def _own_network(h: Here) -> None:
    network = h.c.new_network("overlay", "ov2", ipam=OV)
    h.objs["own"] = network
    sandbox = h.c.new_sandbox("c9", create=True)
    network.create_endpoint("e9").join(sandbox)


STEPS: dict[str, tuple[Callable[[Here], None], Callable[[Here], Any]]] = {
    "create network": (lambda h: None, lambda h: h.c.new_network("overlay", "ov2", ipam=OV)),
    "create endpoint": (_network, lambda h: h.objs["network"].create_endpoint("e0")),
    "join": (_endpoint, lambda h: h.objs["endpoint"].join(h.objs["sandbox"])),
    "leave": (_joined, lambda h: h.objs["endpoint"].leave(h.objs["sandbox"])),
    "delete endpoint": (_joined, lambda h: h.objs["endpoint"].delete(force=True)),
    "delete network": (_own_network, lambda h: h.objs["own"].delete(force=True)),
}


@contextmanager
def here(a: Agents) -> Iterator[Here]:
    """Host 0 in the test's namespace: Docker-like, a controller and ``libnet agent``; the
    other hosts hold endpoints of ``ov1`` in sandboxes, their peers programmed."""
    host_like()
    url = a.etcd.url("libnet/", timeout="15")
    state = a.base / "state0"
    opts = ["--global-store", url, "--state-dir", str(state), "--advertise-addr", ROOT_ADDR]
    opts += ["--host-id", "host0"]
    a.libnet(1, "network", "create", "-d", "overlay", "--subnet", SUBNET, "ov1")
    for n in (1, 2):
        sandbox_on(a, n, "ov1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    with (a.base / "agent0.log").open("ab") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "libnet", *opts, "agent", "--ttl", "3"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        wait_for(lambda: a.c.store.exists("nodes/host0"), 20, "host 0's agent registered")
        with libnet.Controller(
            state_dir=state, global_store=url, advertise_addr=ROOT_ADDR, host_id="host0"
        ) as c:
            yield Here(a, c, {})
    finally:
        os.killpg(agent.pid, signal.SIGKILL)
        agent.wait(10)


def _settled(h: Here, before: tuple[Any, ...], what: str) -> None:
    """Every host back to ``before`` (the agents of the other hosts act on the store's
    watch, so theirs may take a moment)."""
    try:
        wait_for(lambda: h.everything() == before, 5, what)
    except AssertionError:
        now = h.everything()
        for name, old, new in zip(KINDS, before, now, strict=True):
            assert new == old, f"{what}: {name} differs: {_diff(old, new)}"
        raise


def _diff(old: Any, new: Any) -> Any:
    """What differs between two nested dictionaries (else both values)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = set(old) | set(new)
        return {k: _diff(old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)}
    return (old, new)


KINDS = ("this host's kernel", "this host's FDB", "the other hosts' kernels", "records", "local")


class Steps(Injector):
    """One count of steps for this process's kernel changes and record writes and for the
    iptables tools' calls (the wrappers of :class:`FailingTools` count in the same file)."""

    def __init__(self, tools: FailingTools, fail_at: int) -> None:
        super().__init__(fail_at)
        self.tools = tools
        tools.arm(fail_at)

    def step(self, what: str) -> None:
        count_file = self.tools.folder / "count"
        count = int(count_file.read_text()) + 1
        count_file.write_text(f"{count}\n")
        self.count = count
        if count == self.fail_at:
            self.fired = what
            raise NetlinkError(errno.EBUSY, f"injected failure at step {count}: {what}")

    @property
    def fired_anywhere(self) -> str | None:
        return self.fired or ("an iptables tool" if self.tools.fired else None)


@pytest.mark.parametrize("case", list(STEPS))
def test_a_failure_at_each_step_through_the_controller_leaves_no_kernel_object_or_record(
    case: str, tmp_path: Path
) -> None:
    needs_iptables()
    setup, action = STEPS[case]
    with agents(tmp_path, cli=True) as a, here(a) as h:
        docker_like(a.c, docker_user=True)
        setup(h)
        tools = FailingTools(tmp_path / "faults")
        before = h.everything()
        fired: list[str] = []
        for k in range(1, 200):
            steps = Steps(tools, k)
            with inject(k, steps), driver_store_steps(steps):
                try:
                    action(h)
                except Exception:
                    if steps.fired_anywhere is None:
                        raise
                    fired.append(steps.fired_anywhere)
                    _settled(h, before, f"a failure at step {k}, {steps.fired_anywhere}")
                    continue
            tools.arm(0)
            assert steps.fired_anywhere is None, f"step {k} failed after the commit"
            break
        else:
            pytest.fail("the operation never completed")
        assert fired, "no step was failed"
        if case not in ("create network", "join", "leave"):  # links stay as they are
            assert "an iptables tool" in fired
        assert h.c.reconcile(repair=False).findings == []
