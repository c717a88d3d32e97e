"""The discovery index: used while it holds, never wrong, harmless when broken.

The index trusts no stamp younger than ``RACY_NS`` before its scan, so these tests age the
folders they install into (``_age``) when they need the index to be trusted, exactly as
time does on a real machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _dists import FakeDists
from _venv import make_venv, write_project

import libnet
from libnet.drivers.remote import index
from libnet.drivers.remote.index import installed


def _age(*roots: Path) -> None:
    """Date every file and folder under ``roots`` a minute back."""
    then = time.time_ns() - 60 * 10**9
    for root in roots:
        for path in [root, *root.rglob("*")]:
            os.utime(path, ns=(then, then), follow_symlinks=False)


def _names(found: index.Installed) -> set[str]:
    return {ep.name for ep in found.entry_points}


def _install(dists: FakeDists, name: str, ep: str, version: str = "1.0") -> Path:
    module = name.replace("-", "_")
    dist = dists.install(
        name,
        version,
        entry_points={ep: module},
        modules={module: "def libnet_driver_init(callback, config):\n    pass\n"},
    )
    return dist.site


def test_a_scan_writes_the_index_and_the_next_start_reads_it(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    first = installed()
    assert (first.source, "one" in _names(first)) == ("scan", True)
    assert index.index_file().is_file()
    second = installed()
    assert (second.source, second.entry_points) == ("index", first.entry_points)


def test_an_index_of_a_recent_change_is_not_trusted(dists: FakeDists) -> None:
    _install(dists, "libnet-one", "one")  # the site folder changed just now: racy
    assert installed().source == "scan"
    assert installed().source == "scan"


def test_installing_upgrading_and_removing_are_seen(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    assert installed().source == "scan" and installed().source == "index"
    _install(dists, "libnet-two", "two")
    found = installed()
    assert (found.source, {"one", "two"} <= _names(found)) == ("scan", True)
    _age(site)  # the index holds racy stamps: one more scan, then the index
    assert installed().source == "scan" and installed().source == "index"
    for old in site.glob("libnet_two-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    _install(dists, "libnet-two", "two-bis", version="2.0")  # an upgrade
    found = installed()
    assert "two" not in _names(found) and "two-bis" in _names(found)
    assert {ep.version for ep in found.entry_points if ep.name == "two-bis"} == {"2.0"}


def test_a_metadata_file_rewritten_in_place_is_seen(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    assert installed().source == "scan" and installed().source == "index"
    (eps,) = site.glob("libnet_one-*.dist-info/entry_points.txt")
    eps.write_text(eps.read_text().replace("one =", "uno ="))
    found = installed()
    assert "uno" in _names(found) and "one" not in _names(found)


def test_a_change_of_sys_path_uses_another_index(dists: FakeDists, tmp_path: Path) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    installed()
    before = index.index_file()
    sys.path.append(str(tmp_path / "elsewhere"))
    try:
        assert index.index_file() != before
        assert installed().source == "scan"
    finally:
        sys.path.remove(str(tmp_path / "elsewhere"))


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{", b"\x00\xff" * 40, b"[]", b'{"key": 1}', b'{"key": null, "entry_points": 5}'],
)
def test_a_corrupt_index_is_ignored_and_rebuilt(dists: FakeDists, garbage: bytes) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    installed()
    file = index.index_file()
    good = json.loads(file.read_bytes())
    file.write_bytes(garbage)
    found = installed()
    assert found.source == "scan" and "one" in _names(found)
    assert json.loads(file.read_bytes())["entry_points"] == good["entry_points"]
    assert installed().source == "index"


def test_a_corrupt_entry_list_is_ignored(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    installed()
    file = index.index_file()
    data = json.loads(file.read_bytes())
    data["entry_points"] = [["libnet.drivers", "short"]]
    file.write_text(json.dumps(data))
    assert installed().source == "scan"


def test_an_index_others_may_write_is_not_trusted(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    installed()
    index.index_file().chmod(0o666)
    assert installed().source == "scan"


def test_an_unwritable_cache_directory_only_costs_the_scan(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LIBNET_CACHE_DIR", str(blocker / "libnet"))
    _install(dists, "libnet-one", "one")
    assert "one" in _names(installed())
    assert "one" in {row.name for row in libnet.Controller().drivers()}


def test_no_index_turns_it_off(dists: FakeDists, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    monkeypatch.setenv("LIBNET_NO_INDEX", "1")
    assert installed().source == "scan" and installed().source == "scan"
    assert not index.index_file().exists()


def test_refresh_rescans_a_valid_index(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    installed()
    assert installed().source == "index"
    assert installed(refresh=True).source == "scan"


def test_the_deny_list_applies_to_indexed_entry_points(dists: FakeDists) -> None:
    site = _install(dists, "libnet-one", "one")
    _age(site)
    installed()
    c = libnet.Controller(plugins="eager", plugins_deny=["one"])
    assert [r.status for r in c.drivers() if r.name == "one"] == ["disabled"]
    assert "libnet_one" not in sys.modules


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert index.cache_dir(env) == Path("/x/cache/libnet")
    assert index.cache_dir({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}) == Path(
        "/home/u/.cache/libnet"
    )
    assert index.cache_dir({**env, "LIBNET_CACHE_DIR": "/c"}) == Path("/c")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert index.cache_dir(env) == Path("/x/cache/libnet")
    assert index.cache_dir({"HOME": "/root"}) == Path("/var/cache/libnet")


RACE = """
import sys
sys.path.insert(0, {site!r})
from libnet.drivers.remote import index
names = set()
for _ in range(40):
    found = index.installed(refresh=True)
    names.add(tuple(sorted(ep.name for ep in found.entry_points if ep.name.startswith("race"))))
    again = index.installed()
    names.add(tuple(sorted(ep.name for ep in again.entry_points if ep.name.startswith("race"))))
print(sorted(names))
"""


@pytest.mark.slow
def test_processes_writing_at_once_leave_a_valid_index(dists: FakeDists) -> None:
    site = dists.site()
    for n in range(30):
        _install(dists, f"libnet-race{n}", f"race{n}")
    _age(site)
    script = textwrap.dedent(RACE.format(site=str(site)))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    expected = str([tuple(sorted(f"race{n}" for n in range(30)))])
    assert [out.strip() for out in outputs] == [expected] * 4
    cache = Path(os.environ["LIBNET_CACHE_DIR"])
    assert [p.name for p in cache.iterdir() if p.name.endswith(".tmp")] == []
    for file in cache.glob("discovery-*.json"):
        json.loads(file.read_bytes())  # every file complete


DRIVERS_SOURCE = """
import json, sys
from libnet.drivers.remote import index
found = index.installed()
print(json.dumps([found.source, sorted([ep.name, ep.version] for ep in found.entry_points)]))
"""


@pytest.mark.slow
def test_pip_install_upgrade_and_uninstall_between_starts(tmp_path: Path) -> None:
    venv = make_venv(tmp_path)
    venv.env["LIBNET_CACHE_DIR"] = str(tmp_path / "cache")

    def start() -> tuple[str, list[list[str]]]:
        source, eps = json.loads(venv.script(DRIVERS_SOURCE))
        return source, [ep for ep in eps if ep[0] == "idx"]

    assert start() == ("scan", [])
    venv.pip("install", "--quiet", "--no-deps", str(write_project(tmp_path, "libnet-idx", "idx")))
    assert start() == ("scan", [["idx", "1.0"]])
    project = write_project(tmp_path, "libnet-idx", "idx", version="2.0")
    venv.pip("install", "--quiet", "--no-deps", "--upgrade", str(project))
    assert start() == ("scan", [["idx", "2.0"]])
    assert venv.drivers()["idx"]["version"] == "2.0"
    site = Path(venv.script("import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    _age(site)
    start()  # scans once more: the stamps are old enough now
    assert start() == ("index", [["idx", "2.0"]])
    venv.pip("uninstall", "--quiet", "--yes", "libnet-idx")
    assert start() == ("scan", [])
    assert "idx" not in venv.drivers()


class _Finder:
    """An import system's own distribution finder (it finds nothing more here)."""

    @staticmethod
    def find_distributions(*args: object, **kwargs: object) -> list[object]:
        return []


def test_a_custom_distribution_finder_is_asked_through_importlib(dists: FakeDists) -> None:
    _install(dists, "libnet-one", "one")
    scanned = installed()
    sys.meta_path.append(_Finder)  # type: ignore[arg-type]
    try:
        found = installed()
    finally:
        sys.meta_path.remove(_Finder)  # type: ignore[arg-type]
    assert found.source == "importlib"
    assert set(found.entry_points) == set(scanned.entry_points)


def test_a_zip_file_on_sys_path_is_read(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("libnet_zipped-1.0.dist-info/METADATA", "Name: libnet-zipped\nVersion: 1.0\n")
        z.writestr("libnet_zipped-1.0.dist-info/entry_points.txt", "[libnet.drivers]\nzipped = m\n")
    sys.path.insert(0, str(archive))
    try:
        found = installed()
    finally:
        sys.path.remove(str(archive))
    assert [(ep.name, ep.distribution) for ep in found.entry_points if ep.name == "zipped"] == [
        ("zipped", "libnet-zipped")
    ]
