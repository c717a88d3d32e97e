"""``libnet serve`` as a process: serves until SIGTERM or SIGINT, then cleans up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import libnet

from ._certs import Certs
from .conftest import post

pytestmark = pytest.mark.slow


def start(plugin_dir: Path, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "libnet", "--state-dir", str(plugin_dir / "state"), "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "serving Docker plugin" in line, proc.stderr.read() if proc.stderr else line
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_a_signal_and_removes_its_socket(
    plugin_dir: Path, sig: signal.Signals
) -> None:
    path = plugin_dir / "clip.sock"
    proc = start(plugin_dir, "null", "--name", "clip", "--socket", str(path), "--ipam", "default")
    assert post(path, "Plugin.Activate")[:2] == (
        200,
        {"Implements": ["NetworkDriver", "IpamDriver"]},
    )
    proc.send_signal(sig)
    assert proc.wait(10) == 0
    assert not path.exists()


def test_serve_over_plain_tcp_warns_and_writes_and_removes_the_spec(plugin_dir: Path) -> None:
    spec_dir = plugin_dir / "specs"
    proc = start(
        plugin_dir,
        *("null", "--name", "clitcp", "--tcp", "127.0.0.1:0", "--spec-dir", str(spec_dir)),
        "--insecure-tcp",
    )
    spec = (spec_dir / "clitcp.spec").read_text().strip()
    assert spec.startswith("tcp://127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert not (spec_dir / "clitcp.spec").exists()
    assert proc.stderr is not None
    assert (
        f"libnet: WARNING: plugin 'clitcp' serves plain TCP, without TLS, at {spec} without "
        "authentication: anyone who can reach the port can drive the driver"
    ) in proc.stderr.read()


def test_serve_refuses_plain_tcp_unless_asked_for(plugin_dir: Path) -> None:
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "libnet", "--state-dir", str(plugin_dir / "state"), "serve"),
            *("null", "--tcp", "127.0.0.1:0", "--spec-dir", str(plugin_dir / "specs")),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("libnet: error: serving on TCP needs TLS: --tls-cert and")
    assert "--insecure-tcp to serve plain TCP" in proc.stderr
    assert not (plugin_dir / "specs").exists()


def test_serve_over_mutual_tls_through_its_json_spec(
    plugin_dir: Path, tmp_path: Path, make_controller: Callable[..., libnet.Controller]
) -> None:
    certs = Certs(tmp_path)
    spec_dir = plugin_dir / "specs"
    proc = start(
        plugin_dir,
        *("null", "--name", "clitls", "--tcp", "127.0.0.1:0", "--spec-dir", str(spec_dir)),
        *("--tls-cert", str(certs.server), "--tls-key", str(certs.server_key)),
        *("--tls-ca", str(certs.ca)),
        *("--spec-cert", str(certs.client), "--spec-key", str(certs.client_key)),
    )
    spec = json.loads((spec_dir / "clitls.json").read_text())
    assert spec["Addr"].startswith("https://127.0.0.1:")
    assert spec["TLSConfig"]["CAFile"] == str(certs.ca)
    net = make_controller(plugin_dirs=[spec_dir]).new_network("clitls", "n1")
    assert net.type == "clitls"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert not (spec_dir / "clitls.json").exists()
    assert proc.stderr is not None and "WARNING" not in proc.stderr.read()


def test_serve_reports_a_bad_group_as_one_line(plugin_dir: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "libnet",
            "--state-dir",
            str(plugin_dir / "state"),
            "serve",
            "null",
            "--socket",
            str(plugin_dir / "x.sock"),
            "--group",
            "no-such-group-x",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "libnet: error: group 'no-such-group-x' does not exist; create it "
        "(groupadd no-such-group-x) or give another --group"
    )


def test_serve_needs_a_driver_or_an_ipam_driver(plugin_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "libnet", "serve"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "name a DRIVER, an --ipam driver, or both" in proc.stderr
