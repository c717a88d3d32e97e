"""Every driver libnet ships passes the conformance suite.

``null`` and ``host`` run in this process. ``bridge`` programs the kernel, so it runs as
root in a network namespace of its own (``unshare``), once with logical sandboxes through
the command-line form and once with a network namespace per sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from libnet.testing import DriverConformance


class TestNullConforms(DriverConformance):
    network_type = "null"
    max_networks = 1


class TestHostConforms(DriverConformance):
    network_type = "host"
    max_networks = 1


def _can_unshare() -> bool:
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-n", "-m", "--propagation", "private", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


needs_namespaces = pytest.mark.skipif(
    not _can_unshare(), reason="the bridge driver needs root and unshare(1) to run isolated"
)

BRIDGE_WITH_NAMESPACES = """\
from libnet.testing import DriverConformance


class TestBridgeWithNamespaces(DriverConformance):
    network_type = "bridge"

    def sandbox_options(self, index):
        return {"create": True}
"""


def _isolated_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env: Mapping[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    # A private tmpfs on /run/netns keeps the namespaces the suite creates off the host.
    mount = 'mkdir -p /run/netns && mount -t tmpfs libnet-test /run/netns && exec "$@"'
    command = [
        *("unshare", "-n", "-m", "--propagation", "private", "sh", "-c", mount, "sh"),
        *(sys.executable, "-m", "pytest"),
    ]
    return subprocess.run(
        [*command, "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@needs_namespaces
def test_bridge_conforms_through_the_command_line_form(tmp_path: Path) -> None:
    proc = _isolated_pytest(tmp_path, "-p", "libnet.testing", "--libnet-driver", "bridge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and "failed" not in proc.stdout


@pytest.mark.slow
@needs_namespaces
def test_bridge_conforms_with_a_network_namespace_per_sandbox(tmp_path: Path) -> None:
    (tmp_path / "test_bridge.py").write_text(BRIDGE_WITH_NAMESPACES)
    proc = _isolated_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and "failed" not in proc.stdout
