"""The version gate and the conflict rule on distributions that pip installed for real.

Each plugin here is a small source project (``pyproject.toml`` and one module) that pip
builds and installs into a fresh virtual environment next to libnet; ``libnet`` then runs
there as a user would run it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _venv import Venv, make_venv, write_project

import libnet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return make_venv(tmp_path_factory.mktemp("plugin-rules"))


def libnet_cmd(venv: Venv, *args: str, **env: str) -> tuple[int, str, str]:
    run = Venv(venv.path, {**venv.env, **env}).run(venv.libnet, *args)
    return run.returncode, run.stdout, run.stderr


def test_a_plugin_requiring_another_libnet_is_skipped_and_reported(
    venv: Venv, tmp_path: Path
) -> None:
    project = write_project(tmp_path, "libnet-future", "future", "libnet>=2,<3")
    venv.pip("install", "--quiet", "--no-deps", str(project))  # as after a libnet downgrade
    try:
        rows = venv.drivers()
        assert rows["future"]["status"] == "failed", rows["future"]
        assert rows["future"]["error"] == f"requires libnet>=2,<3; this is {libnet.__version__}"
        code, out, err = libnet_cmd(venv, "drivers")
        assert code == 0, err
        assert "future" in out and "failed" in out
        assert f"future: requires libnet>=2,<3; this is {libnet.__version__}" in err
        code, out, err = libnet_cmd(venv, "network", "create", "-d", "future", "f")
        assert (code, out) == (1, ""), err
        assert "requires libnet>=2,<3" in err
        code, out, err = libnet_cmd(venv, "drivers", LIBNET_STRICT_PLUGINS="1")
        assert code == 1 and "requires libnet>=2,<3" in err, err
    finally:
        venv.pip("uninstall", "--yes", "--quiet", "libnet-future")


def test_two_distributions_advertising_one_type_are_a_conflict_until_one_is_chosen(
    venv: Venv, tmp_path: Path
) -> None:
    for dist in ("aaa-hijack", "libnet-ledger2"):
        venv.pip("install", "--quiet", "--no-deps", str(write_project(tmp_path, dist, "ledger2")))
    try:
        rows = [row for row in json.loads(libnet_cmd(venv, "drivers", "--json")[1])]
        conflict = {r["distribution"]: r["status"] for r in rows if r["name"] == "ledger2"}
        assert conflict == {"aaa-hijack": "conflict", "libnet-ledger2": "conflict"}
        code, out, err = libnet_cmd(venv, "network", "create", "-d", "ledger2", "x")
        assert (code, out) == (1, ""), err
        assert "aaa-hijack" in err and "libnet-ledger2" in err
        assert "LIBNET_DISABLE_PLUGINS" in err and "LIBNET_PLUGINS" in err
        code, out, err = libnet_cmd(
            venv, "network", "create", "-d", "ledger2", "x", LIBNET_DISABLE_PLUGINS="aaa-hijack"
        )
        assert code == 0, err
        assert len(out.strip()) == 64, out  # only the ID: the plugin's print went to stderr
        assert "libnet-ledger2 created" in err and "aaa-hijack" not in err
    finally:
        venv.pip("uninstall", "--yes", "--quiet", "aaa-hijack", "libnet-ledger2")
