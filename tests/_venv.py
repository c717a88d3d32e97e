"""A throwaway virtual environment with libnet pip-installed from this repository.

For the slow tests that install plugins for real (``pip install``) and run ``libnet`` there.
Sources are copied first so that pip's in-tree builds never write into the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["REPO", "Venv", "copy_tree", "make_venv", "write_project"]

REPO = Path(__file__).resolve().parents[1]

_COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".tox", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)

_OFFLINE_SIGNS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "ConnectTimeoutError",
    "ReadTimeoutError",
)


@dataclass(frozen=True)
class Venv:
    path: Path
    env: dict[str, str]

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def libnet(self) -> str:
        return str(self.path / "bin" / "libnet")

    def run(self, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args], capture_output=True, text=True, env=self.env, timeout=600
        )

    def pip(self, *args: str) -> None:
        """Run pip in the environment; skip if the index is unreachable, fail on other errors."""
        proc = self.run(self.python, "-m", "pip", *args)
        if proc.returncode == 0:
            return
        output = proc.stdout + proc.stderr
        for line in output.splitlines():
            if any(sign in line for sign in _OFFLINE_SIGNS):
                pytest.skip(f"pip cannot reach a package index: {line.strip()}")
        pytest.fail(f"pip {' '.join(args)} failed:\n{output}")

    def script(self, source: str, prefix: tuple[str, ...] = ()) -> str:
        proc = self.run(self.python, "-c", textwrap.dedent(source), prefix=prefix)
        assert proc.returncode == 0, f"script failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    def drivers(self, ipam: bool = False) -> dict[str, dict[str, Any]]:
        """``libnet drivers --json`` (``libnet ipam ls --json``) of the environment, by name."""
        command = ("ipam", "ls") if ipam else ("drivers",)
        proc = self.run(str(self.path / "bin" / "libnet"), *command, "--json")
        assert proc.returncode == 0, f"libnet {' '.join(command)} --json failed:\n{proc.stderr}"
        return {row["name"]: row for row in json.loads(proc.stdout)}


def copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=_COPY_IGNORE)
    return dest


def make_venv(root: Path) -> Venv:
    """A fresh virtual environment under ``root`` with libnet installed from this repository;
    skips the test when no environment can be made or no package index is reachable."""
    proc = subprocess.run(
        [sys.executable, "-m", "venv", str(root / "venv")], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot create a virtual environment: {proc.stderr.strip()}")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LIBNET_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["LIBNET_STATE_DIR"] = str(root / "state")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    v = Venv(root / "venv", env)
    v.pip("install", "--quiet", str(copy_tree(REPO, root / "libnet-src")))
    return v


_PLUGIN = """
import libnet


class {cls}(libnet.Driver):
    def create_network(self, nid, options, ipv4_data, ipv6_data):
        print("{dist} created", nid)

    def delete_network(self, nid):
        pass

    def create_endpoint(self, nid, eid, iface, options):
        pass

    def delete_endpoint(self, nid, eid):
        pass

    def endpoint_oper_info(self, nid, eid):
        return {{"served_by": "{dist}"}}

    def join(self, nid, eid, sandbox_key, jinfo, options):
        pass

    def leave(self, nid, eid):
        pass


@libnet.hookimpl
def libnet_driver_init(callback, config):
    callback.register_driver("{network_type}", {cls}(), libnet.Capability(data_scope="local"))
"""


def write_project(
    root: Path, dist: str, network_type: str, requires: str = "", version: str = "1.0"
) -> Path:
    """A source project for distribution ``dist`` (``version``) serving ``network_type``."""
    module = dist.replace("-", "_")
    project = root / f"{dist}-{version}"
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(
        _PLUGIN.format(cls="PluginDriver", dist=dist, network_type=network_type)
    )
    deps = json.dumps([requires] if requires else [])
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "{version}"
            dependencies = {deps}

            [project.entry-points."libnet.drivers"]
            {network_type} = "{module}"
            """
        )
    )
    return project
