"""``libnet drivers``: the table and JSON of drivers, failed plugins included."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from libnet.testing import PluginInstaller

from .conftest import Result, clean_env, run


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    """A site directory holding one plugin whose init hook raises."""
    installer = PluginInstaller(tmp_path / "plugins")
    installer.install_broken("hook-error", "broken", dist="libnet-broken")
    site = installer.site()
    installer.close()  # the files stay; only this process forgets them
    return site


def drivers(site: Path, tmp_path: Path, *args: str, **env: str) -> Result:
    return run("drivers", *args, env=clean_env(PYTHONPATH=str(site), **env), cwd=tmp_path)


def test_drivers_lists_a_failed_plugin_and_exits_0(broken_site: Path, tmp_path: Path) -> None:
    result = drivers(broken_site, tmp_path)
    assert result.returncode == 0, result
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["broken"][1:3] == ["entrypoint", "failed"]
    assert rows["null"][1:3] == ["builtin", "ok"]
    assert "broken: RuntimeError: libnet-broken fails in its init hook" in result.stderr
    assert result.stderr.count("libnet-broken fails in its init hook") == 1  # not logged too


def test_drivers_json_gives_the_failure_phase_and_error(broken_site: Path, tmp_path: Path) -> None:
    result = drivers(broken_site, tmp_path, "--json")
    assert result.returncode == 0, result
    (row,) = [r for r in json.loads(result.stdout) if r["name"] == "broken"]
    assert (row["status"], row["distribution"]) == ("failed", "libnet-broken")
    assert "RuntimeError" in row["error"]


def test_drivers_in_strict_mode_fails_naming_the_plugin(broken_site: Path, tmp_path: Path) -> None:
    result = drivers(broken_site, tmp_path, LIBNET_STRICT_PLUGINS="1")
    assert result.returncode == 1, result
    assert "libnet: error: entry point 'broken'" in result.stderr
    assert "libnet-broken" in result.stderr.splitlines()[-1]


def test_drivers_refresh_rebuilds_the_discovery_index(
    broken_site: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.mktemp("cache")  # not in the working directory, on sys.path
    then = time.time_ns() - 60 * 10**9
    for path in [tmp_path, *tmp_path.rglob("*")]:  # stamps old enough to trust
        os.utime(path, ns=(then, then))
    assert drivers(broken_site, tmp_path, LIBNET_CACHE_DIR=str(cache)).returncode == 0
    (file,) = cache.glob("discovery-*.json")
    data = json.loads(file.read_text())
    data["entry_points"].append(["libnet.drivers", "ghost", "ghost_mod", "libnet-ghost", "1", []])
    file.write_text(json.dumps(data))
    names = [
        line.split()[0]
        for line in drivers(broken_site, tmp_path, LIBNET_CACHE_DIR=str(cache)).stdout.splitlines()
    ]
    assert "ghost" in names  # the index was used
    result = drivers(broken_site, tmp_path, "--refresh", LIBNET_CACHE_DIR=str(cache))
    assert result.returncode == 0, result
    assert "ghost" not in [line.split()[0] for line in result.stdout.splitlines()]
    assert "ghost" not in file.read_text()
