"""The README's "Docker plugins, both ways" example, run exactly as written.

The lines of its ``sh`` block run as one ``bash`` script (``set -e``) in the daemon's network
namespace, as root on a default-settings Docker host would run them. What differs from a
user's shell is only the environment: ``DOCKER_HOST`` names the private engine,
``LIBNET_STATE_DIR`` a temporary state, ``PATH`` starts with this Python's ``bin`` (where
``libnet`` is), and the engine knows ``busybox`` as the image the tests import (none can be
pulled here).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ._engine import PLUGIN_DIR, DockerEngine

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Docker plugins, both ways"


def readme_example() -> list[str]:
    """The command lines of the first ``sh`` block of the README's section."""
    text = README.read_text()
    section = text[text.index(SECTION) :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, f"no sh block under {SECTION!r} in {README}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_example_works_as_written(
    docker_engine: DockerEngine, busybox_image: str, tmp_path: Path
) -> None:
    lines = readme_example()
    plugin = re.search(r"--name (\S+)", lines[0])
    assert plugin is not None and lines[0].startswith("libnet serve "), lines[0]
    socket = PLUGIN_DIR / f"{plugin.group(1)}.sock"
    if socket.exists():
        pytest.skip(f"{socket} is taken (another run of this example?)")
    docker_engine.docker("tag", busybox_image, "busybox:latest")
    env = docker_engine.env()
    env["LIBNET_STATE_DIR"] = str(tmp_path / "state")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("w") as o, stderr.open("w") as e:
        proc = subprocess.Popen(
            docker_engine.in_netns("bash", "-c", "set -e\n" + "\n".join(lines)),
            env=env,
            stdout=o,
            stderr=e,
            start_new_session=True,  # the background `libnet serve` shares its process group
        )
    try:
        proc.wait(timeout=180)
    finally:
        for cleanup in (("rm", "-f", "web"), ("network", "rm", "n7")):
            docker_engine.docker(*cleanup, check=False)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # `libnet serve`, and bash if it still runs
        proc.wait()
        socket.unlink(missing_ok=True)
    out, err = stdout.read_text(), stderr.read_text()
    assert proc.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert re.search(r"inet 10\.7\.0\.\d+/24", out), out  # `ip addr` in a container on n7
    # IDs printed by `docker network create` and `docker run -d`, in that order
    [_, web_id] = [w for w in out.split() if re.fullmatch(r"[0-9a-f]{64}", w)]
    assert web_id[:12] in out.splitlines(), out  # what curl fetched: web's /etc/hostname
