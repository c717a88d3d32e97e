"""``Controller.agent()`` and ``libnet agent`` against real etcd: the host's node record is
there while the agent runs and gone as soon as it stops (SIGTERM revokes the lease)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from _etcd import EtcdCluster

from libnet import Controller
from libnet.errors import InvalidOptionError
from libnet.store import EtcdStore

if sys.platform != "linux":
    pytest.skip("the overlay driver behind the agent is Linux only", allow_module_level=True)


def _node_key(store: EtcdStore, host: str, present: bool, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if store.exists(f"nodes/{host}") is present:
            return True
        time.sleep(0.05)
    return store.exists(f"nodes/{host}") is present


def test_controller_agent_registers_the_host_and_revokes_on_stop(
    etcd1: EtcdCluster, tmp_path: Path
) -> None:
    url = etcd1.url(f"agent-{uuid.uuid4().hex[:8]}/")
    with (
        EtcdStore(url) as store,
        Controller(state_dir=tmp_path, global_store=url, advertise_addr="127.0.0.1") as c,
    ):
        with c.agent(ttl=5) as agent:
            assert agent.host_id == c.host_id
            assert _node_key(store, c.host_id, True, 5)
        assert _node_key(store, c.host_id, False, 1)  # revoked, not expired


def test_an_agent_without_a_global_store_is_a_clear_error(tmp_path: Path) -> None:
    with Controller(state_dir=tmp_path) as c, pytest.raises(InvalidOptionError, match="global"):
        c.agent()


def test_libnet_agent_runs_until_sigterm(etcd1: EtcdCluster, tmp_path: Path) -> None:
    url = etcd1.url(f"agent-{uuid.uuid4().hex[:8]}/")
    host = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    argv = [sys.executable, "-m", "libnet", "--state-dir", str(tmp_path), "--global-store", url]
    argv += ["--host-id", host, "--advertise-addr", "127.0.0.1", "agent", "--ttl", "5"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    with EtcdStore(url) as store:
        try:
            assert _node_key(store, host, True, 15), proc.stderr
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert f"agent of host {host}" in err  # one line per change, at info level
        assert _node_key(store, host, False, 1)
