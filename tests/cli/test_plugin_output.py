"""A plugin that prints never corrupts libnet's output: its stdout goes to stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libnet.testing import PluginInstaller

from .conftest import Result, clean_env, run

NOISY = """
import libnet

print("noisy: imported")


class NoisyDriver(libnet.Driver):
    def __init__(self):
        self.networks = set()

    def create_network(self, nid, options, ipv4_data, ipv6_data):
        print("noisy: create_network", nid)
        self.networks.add(nid)

    def delete_network(self, nid):
        print("noisy: delete_network", nid)
        self.networks.discard(nid)

    def create_endpoint(self, nid, eid, iface, options):
        print("noisy: create_endpoint")

    def delete_endpoint(self, nid, eid):
        print("noisy: delete_endpoint")

    def endpoint_oper_info(self, nid, eid):
        print("noisy: endpoint_oper_info")
        return {}

    def join(self, nid, eid, sandbox_key, jinfo, options):
        print("noisy: join")

    def leave(self, nid, eid):
        print("noisy: leave")

    def kernel_check(self, network):
        print("noisy: kernel_check")
        return {}

    def kernel_orphans(self, networks):
        print("noisy: kernel_orphans")
        return []

    def remove_orphan(self, orphan):
        print("noisy: remove_orphan")


@libnet.hookimpl
def libnet_driver_init(callback, config):
    print("noisy: init hook")
    callback.register_driver("noisy", NoisyDriver(), libnet.Capability(data_scope="local"))
"""


@pytest.fixture
def noisy_site(tmp_path: Path) -> Path:
    installer = PluginInstaller(tmp_path / "plugins")
    installer.install_distribution(
        "libnet-noisy",
        "1.0",
        entry_points={"noisy": "libnet_noisy"},
        modules={"libnet_noisy": NOISY},
    )
    site = installer.site()
    installer.close()  # the files stay; only this process forgets them
    return site


def noisy(site: Path, tmp_path: Path, *args: str) -> Result:
    env = clean_env(PYTHONPATH=str(site))
    return run("--state-dir", str(tmp_path / "state"), *args, env=env, cwd=tmp_path)


def test_drivers_json_parses_although_the_plugin_prints(noisy_site: Path, tmp_path: Path) -> None:
    result = noisy(noisy_site, tmp_path, "drivers", "--json")
    assert result.returncode == 0, result
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["noisy"]["status"] == "ok"
    assert "noisy: imported" in result.stderr
    assert "noisy: init hook" in result.stderr


def test_network_create_prints_only_the_id_although_the_driver_prints(
    noisy_site: Path, tmp_path: Path
) -> None:
    result = noisy(noisy_site, tmp_path, "network", "create", "-d", "noisy", "n1")
    assert result.returncode == 0, result
    (line,) = result.stdout.splitlines()
    assert len(line) == 64 and int(line, 16) >= 0
    assert "noisy: create_network" in result.stderr
    doctor = noisy(noisy_site, tmp_path, "doctor", "--json")
    assert doctor.returncode == 0, doctor
    json.loads(doctor.stdout)
    removed = noisy(noisy_site, tmp_path, "network", "rm", "n1")
    assert removed.stdout.splitlines() == ["n1"], removed
    assert "noisy: delete_network" in removed.stderr


def test_stdout_is_the_real_one_again_after_a_plugin_call() -> None:
    import sys

    from libnet._output import plugin_code

    before = sys.stdout
    with plugin_code():
        assert sys.stdout is not before
    assert sys.stdout is before


def test_a_plugins_prints_in_every_call_go_to_stderr_in_process(
    noisy_site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import libnet

    monkeypatch.syspath_prepend(str(noisy_site))
    try:
        with libnet.Controller() as c:
            net = c.new_network("noisy", "n1")
            ep = net.create_endpoint("web")
            sb = c.new_sandbox("c1")
            ep.join(sb)
            ep.driver_info()
            c.reconcile(repair=True)
            print("libnet's own output")
            ep.leave(sb)
            ep.delete()
            net.delete()
    finally:
        sys.modules.pop("libnet_noisy", None)
    out, err = capsys.readouterr()
    assert out == "libnet's own output\n"
    for call in ("imported", "init hook", "create_network", "join", "kernel_check", "leave"):
        assert f"noisy: {call}" in err, call
