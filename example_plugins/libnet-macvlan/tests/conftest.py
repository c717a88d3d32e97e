"""Fixtures: a throwaway network namespace with a parent interface, never the host's.

Kernel tests need root and network namespaces; they are skipped, with the reason, where
either is missing. Every namespace a test creates is removed when the test ends, whether
it passed or not, and the links inside it go with it.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

PARENT = "lnparent0"


@pytest.fixture
def netns() -> Iterator[str]:
    """The name of a fresh network namespace under /run/netns, removed afterwards."""
    pyroute2 = pytest.importorskip("pyroute2", reason="pyroute2 is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root: the test creates a network namespace and macvlan links")
    name = f"libnet-mv-{secrets.token_hex(4)}"
    try:
        pyroute2.netns.create(name)
    except OSError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    try:
        yield name
    finally:
        pyroute2.netns.remove(name)


@pytest.fixture
def kernel(netns: str) -> Iterator[Any]:
    """A pyroute2 IPRoute inside the test's namespace, to look at what the driver did."""
    from pyroute2 import IPRoute

    with IPRoute(netns=netns, flags=0) as ipr:
        yield ipr


@pytest.fixture
def parent(kernel: Any) -> str:
    """A parent interface in the test's namespace (one end of a veth pair), up."""
    from pyroute2.netlink.exceptions import NetlinkError

    kernel.link("add", ifname=PARENT, kind="veth", peer=PARENT + "p")
    index = kernel.link_lookup(ifname=PARENT)[0]
    kernel.link("set", index=index, state="up")
    try:
        kernel.link("add", ifname="lnprobe0", kind="macvlan", link=index, macvlan_mode="bridge")
    except NetlinkError as exc:
        if exc.code in (errno.EOPNOTSUPP, errno.EINVAL):
            pytest.skip(f"this kernel cannot create macvlan links: {exc}")
        raise
    kernel.link("del", ifname="lnprobe0")
    return PARENT
