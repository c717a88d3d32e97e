"""A process killed inside a bridge driver's create call leaves nothing in the kernel once
the next operation of another process has rolled back its intent."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import libnet

from ._kernel import snapshot

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}
N2 = {"config": [{"subnet": "10.2.0.0/24"}]}


def _killed_inside(state: Path, method: str) -> None:
    """Fork a process that runs ``method`` of the bridge driver, then hangs: kill it there."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the process that dies mid-operation
        try:
            os.close(read)
            c = libnet.Controller(state_dir=state)
            driver = c.resolve_driver("bridge").driver
            original = getattr(driver, method)

            def hang(*args: object) -> None:
                original(*args)
                os.write(write, b"x")
                time.sleep(600)

            setattr(driver, method, hang)
            if method == "create_network":
                c.new_network("bridge", "lost", ipam=N2)
            else:
                c.network("keep").create_endpoint("lost")
        finally:
            os._exit(1)
    os.close(write)
    assert os.read(read, 1) == b"x", "the driver call was not reached"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@pytest.mark.parametrize("method", ["create_network", "create_endpoint"])
def test_a_kill_inside_a_create_leaves_no_kernel_object(tmp_path: Path, method: str) -> None:
    state = tmp_path / "state"
    with libnet.Controller(state_dir=state) as c:
        c.new_network("bridge", "keep", ipam=N1)
    before = snapshot()
    _killed_inside(state, method)
    assert snapshot() != before  # the killed process's bridge or veth pair is there

    with libnet.Controller(state_dir=state) as c:  # the next start
        c.new_sandbox("logical").delete()  # any operation recovers first
        assert snapshot() == before
        assert [n.name for n in c.networks()] == ["keep"]
        assert c.network("keep").endpoints() == []
        assert [p.key for p in c.store.list("local/intent/")] == []
        assert c.reconcile(repair=False).findings == []
        # The addresses were given back: the same ones are handed out again.
        if method == "create_endpoint":
            assert c.network("keep").create_endpoint("again").info()["address"] == "10.1.0.2/24"
        else:
            assert c.new_network("bridge", "again", ipam=N2).name == "again"
