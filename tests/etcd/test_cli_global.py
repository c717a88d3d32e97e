"""The command line on a global store: ``network ls`` on host B lists A's global network
with its SCOPE, ``network inspect`` names each endpoint's host, ``network rm`` refused names
the hosts with endpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from _etcd import EtcdCluster

from libnet import Controller
from libnet.driverapi import Capability, Scope
from libnet.drivers.null import NullDriver


def libnet(state: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    argv = [sys.executable, "-m", "libnet", "--state-dir", str(state), "--global-store", url]
    return subprocess.run([*argv, *args], env=env, capture_output=True, text=True, timeout=60)


def test_ls_inspect_and_rm_on_another_host(etcd1: EtcdCluster, tmp_path: Path) -> None:
    url = etcd1.url(f"cli-{uuid.uuid4().hex[:8]}/")
    with Controller(state_dir=tmp_path / "a", global_store=url) as a:
        a.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        net = a.new_network("gnull", "shared")
        ep = net.create_endpoint("on-a")
        host_a = a.host_id
    b = tmp_path / "b"
    local = libnet(b, url, "network", "create", "-d", "null", "mine")
    assert local.returncode == 0, local.stderr
    listed = libnet(b, url, "network", "ls")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:5] == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert sorted(row.split()[1:4] for row in rows) == [
        ["mine", "null", "local"],
        ["shared", "gnull", "global"],
    ]
    shown = libnet(b, url, "network", "inspect", "shared")
    assert shown.returncode == 0, shown.stderr
    (inspected,) = json.loads(shown.stdout)
    assert inspected["endpoints"][ep.id]["host"] == host_a
    assert inspected["endpoints"][ep.id]["name"] == "on-a"
    # gnull is A's in-process driver, unknown to the command: --forget, which still
    # refuses a network with endpoints.
    refused = libnet(b, url, "network", "rm", "--forget", "shared")
    assert refused.returncode != 0
    assert f"has active endpoints (on-a) on hosts {host_a}" in refused.stderr, refused.stderr
