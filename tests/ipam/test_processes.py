"""Two processes allocating from one pool on one SQLite state directory."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from libnet.ipam import DefaultIpam
from libnet.store import SqliteStore

pytestmark = pytest.mark.slow

_ALLOCATOR = """
import json, sys, time
from pathlib import Path
from libnet.ipam import DefaultIpam
from libnet.store import SqliteStore

state_dir, pool_id, name, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
with SqliteStore(state_dir) as store:
    ipam = DefaultIpam(store)
    (state_dir.parent / f"ready-{name}").touch()
    while not (state_dir.parent / "go").exists():
        time.sleep(0.001)
    held = []
    for i in range(count):
        held.append(ipam.request_address(pool_id)[0])
        time.sleep(0.0005)  # let the other process in: SQLite's busy wait is not fair
        if i % 10 == 9:  # give one back now and then, for the other process to take
            ipam.release_address(pool_id, held.pop(len(held) // 2))
            held.append(ipam.request_address(pool_id)[0])
    (state_dir.parent / f"held-{name}.json").write_text(json.dumps(held))
"""


def test_two_processes_never_hand_out_the_same_address(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with SqliteStore(state_dir) as store:
        pool_id = DefaultIpam(store).request_pool("LocalDefault", "10.20.0.0/22")[0]
    names = ("a", "b")
    procs = [
        subprocess.Popen([sys.executable, "-c", _ALLOCATOR, str(state_dir), pool_id, n, "300"])
        for n in names
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}").exists() for n in names):
            assert time.monotonic() < deadline, "the subprocesses did not start"
            assert all(p.poll() is None for p in procs), "a subprocess failed"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        assert [proc.wait(120) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    held = [json.loads((tmp_path / f"held-{n}.json").read_text()) for n in names]
    assert [len(h) for h in held] == [300, 300]
    union = set(held[0]) | set(held[1])
    assert len(union) == 600, "an address was handed out to both processes"
    net = ipaddress.ip_network("10.20.0.0/22")
    assert all(ipaddress.ip_interface(a).ip in net for a in union)
    with SqliteStore(state_dir) as store:
        assert set(DefaultIpam(store).addresses(pool_id)) == union
