"""The README's overlay walk-through ("Several hosts"), run as written on three hosts.

The hosts are network namespaces on one underlay bridge (``_overlay.cluster``), etcd runs in
the test's own namespace and serves them over the underlay (as ``_agents`` sets it up). The
``sh`` block is cut at its ``# every host`` / ``# host N`` comments; every line runs in
``bash`` (``set -e``) inside its host's namespace, the ``# every host`` part on each host.
What differs from three real hosts is only what the README says to change, in its
``export`` line: the etcd URL and this host's address. Each host also gets a state directory
of its own (``LIBNET_STATE_DIR``: they share one file system), and ``PATH`` starts with this
Python's ``bin``, where ``libnet`` is. A shell keeps its ``export``s, so each host's later
parts run after the ``export`` lines of the ``# every host`` part.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _etcd import ETCD, SKIP_REASON, EtcdCluster

from libnet.store import EtcdStore

from ._agents import ROOT_ADDR, _join_underlay, wait_for
from ._overlay import Host, cluster

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Several hosts"
STORE = "etcd://10.0.0.5:2379/libnet/"
"""The README's etcd URL, the one value to change on every host."""
ADDRESS = "10.0.0.21"
"""The README's address of host 1 (``.22`` on host 2, ``.23`` on host 3)."""


def walkthrough() -> dict[str, list[str]]:
    """The lines of the section's overlay block, by the comment that introduces them:
    ``every host``, ``host 1``, ``host 2``..."""
    text = README.read_text()
    section = text[text.index(SECTION) + len(SECTION) :]
    section = section[: section.find("\n## ")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    [block] = [b for b in blocks if "libnet agent" in b and "-d overlay" in b]
    parts: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in block.splitlines():
        heading = re.match(r"# (every host|host \d+)\b", line)
        if heading:
            lines = parts.setdefault(heading.group(1), [])
        elif line.strip():
            assert parts, f"a line before the first host comment in {README}: {line!r}"
            lines.append(line)
    return parts


def for_host(lines: list[str], url: str, address: str) -> list[str]:
    """``lines`` with the README's etcd URL and address replaced in its ``export``s."""
    out = []
    for line in lines:
        if line.startswith("export "):
            assert STORE in line and ADDRESS in line, line
            line = line.replace(STORE, url).replace(ADDRESS, address)
        out.append(line)
    return out


def run_on(host: Host, lines: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run ``lines`` as one bash script in ``host``'s namespace (its own session: what it
    leaves running, such as the agent, is killed with its process group)."""
    script = "set -e\n" + "\n".join(lines)
    with log.open("ab") as out:
        return subprocess.Popen(
            ["nsenter", f"--net={host.key}", "bash", "-c", script],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def end_group(pgid: int) -> None:
    """SIGTERM the process group (the agent revokes its lease), SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)
            time.sleep(0.05)
        os.killpg(pgid, signal.SIGKILL)


def test_the_readme_overlay_walkthrough_works_as_written(tmp_path: Path) -> None:
    parts = walkthrough()
    assert list(parts) == ["every host", "host 1", "host 2", "host 3"], list(parts)
    exports = [line for line in parts["every host"] if line.startswith("export ")]
    if ETCD is None:
        pytest.skip(SKIP_REASON)
    if shutil.which("ping") is None:
        pytest.skip("the walk-through pings: apt-get install iputils-ping (as .ci/run does)")
    c = cluster(count=3)
    _join_underlay(c)
    etcd = EtcdCluster(tmp_path / "etcd", also_on=ROOT_ADDR).start()
    url = etcd.url("libnet/", host=ROOT_ADDR)
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    groups: list[int] = []
    try:
        for n, host in enumerate(c.hosts, start=1):
            env = {**base, "LIBNET_STATE_DIR": str(tmp_path / f"state{n}")}
            log = tmp_path / f"{n}.log"
            proc = run_on(host, for_host(parts["every host"], url, host.vtep), env, log)
            groups.append(proc.pid)
            assert proc.wait(60) == 0, log.read_text()
        with EtcdStore(etcd.url("libnet/")) as store:
            wait_for(lambda: len(store.list("nodes/")) == 3, 30, "the three agents registered")
        for n, host in enumerate(c.hosts, start=1):
            env = {**base, "LIBNET_STATE_DIR": str(tmp_path / f"state{n}")}
            log = tmp_path / f"{n}.log"
            lines = for_host(exports, url, host.vtep) + parts[f"host {n}"]
            proc = run_on(host, lines, env, log)
            groups.append(proc.pid)
            assert proc.wait(120) == 0, log.read_text()
        # Host 2's endpoint existed before host 3's: only host 2's agent can have told its
        # vxlan device where c3 is, so replies (no learning) prove the agents' work.
        out = (tmp_path / "3.log").read_text()
        assert "bytes from 10.200.0.2" in out, out
    finally:
        for pgid in groups:
            end_group(pgid)
        etcd.stop()
