"""Finding Docker plugins by name as the engine does: sockets, then .spec and .json files."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import libnet
from libnet.drivers.remote.docker_discovery import (
    DEFAULT_SOCKET_DIRS,
    DEFAULT_SPEC_DIRS,
    PluginDirs,
    PluginSpecError,
    TLSConfig,
)
from libnet.errors import UnknownDriverError


@pytest.fixture
def make_socket() -> Iterator[Callable[[Path], Path]]:
    """``make_socket(path)``: a listening unix socket at ``path``."""
    socks: list[socket.socket] = []

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.listen()
        socks.append(sock)
        return path

    yield make
    for sock in socks:
        sock.close()


def dirs(*paths: Path) -> PluginDirs:
    return PluginDirs.resolve(paths)


def test_default_directories_are_dockers() -> None:
    d = PluginDirs.resolve(None, env={})
    assert d.socket_dirs == DEFAULT_SOCKET_DIRS == (Path("/run/docker/plugins"),)
    assert d.spec_dirs == DEFAULT_SPEC_DIRS
    assert [str(p) for p in d.candidates("x")] == [
        "/run/docker/plugins/x.sock",
        "/run/docker/plugins/x/x.sock",
        "/etc/docker/plugins/x.spec",
        "/etc/docker/plugins/x/x.spec",
        "/etc/docker/plugins/x.json",
        "/etc/docker/plugins/x/x.json",
        "/usr/lib/docker/plugins/x.spec",
        "/usr/lib/docker/plugins/x/x.spec",
        "/usr/lib/docker/plugins/x.json",
        "/usr/lib/docker/plugins/x/x.json",
    ]


def test_env_lists_directories_searched_for_both_sockets_and_specs() -> None:
    d = PluginDirs.resolve(None, env={"LIBNET_PLUGIN_DIRS": "/a:/b"})
    assert d.socket_dirs == d.spec_dirs == (Path("/a"), Path("/b"))
    assert not PluginDirs.resolve(None, env={"LIBNET_PLUGIN_DIRS": ""}).enabled
    assert not PluginDirs.resolve([]).enabled


def test_a_socket_is_found(plugin_dir: Path, make_socket: Callable[[Path], Path]) -> None:
    make_socket(plugin_dir / "weave.sock")
    found = dirs(plugin_dir).find("weave")
    assert found is not None
    assert found.url == f"unix://{plugin_dir}/weave.sock"
    assert found.socket_path == plugin_dir / "weave.sock"


def test_a_socket_in_its_subfolder_is_found(
    plugin_dir: Path, make_socket: Callable[[Path], Path]
) -> None:
    make_socket(plugin_dir / "weave" / "weave.sock")
    found = dirs(plugin_dir).find("weave")
    assert found is not None and found.url == f"unix://{plugin_dir}/weave/weave.sock"


def test_sockets_come_before_spec_files_in_every_directory(
    plugin_dir: Path, make_socket: Callable[[Path], Path]
) -> None:
    first, second = plugin_dir / "first", plugin_dir / "second"
    first.mkdir()
    (first / "p.spec").write_text("tcp://127.0.0.1:9000\n")
    make_socket(second / "p.sock")
    found = dirs(first, second).find("p")
    assert found is not None and found.scheme == "unix"


@pytest.mark.parametrize("form", ["p.spec", "p/p.spec"])
def test_a_spec_file_is_found(plugin_dir: Path, form: str) -> None:
    (plugin_dir / form).parent.mkdir(exist_ok=True)
    (plugin_dir / form).write_text("  tcp://10.0.0.5:8080\n")
    found = dirs(plugin_dir).find("p")
    assert found is not None
    assert (found.url, found.source, found.tls) == ("tcp://10.0.0.5:8080", plugin_dir / form, None)


def test_spec_comes_before_json(plugin_dir: Path) -> None:
    (plugin_dir / "p.json").write_text(json.dumps({"Addr": "http://127.0.0.1:1"}))
    (plugin_dir / "p").mkdir()
    (plugin_dir / "p" / "p.spec").write_text("unix:///somewhere/p.sock")
    found = dirs(plugin_dir).find("p")
    assert found is not None and found.url == "unix:///somewhere/p.sock"


@pytest.mark.parametrize("form", ["p.json", "p/p.json"])
def test_a_json_spec_gives_address_and_tls_settings(plugin_dir: Path, form: str) -> None:
    (plugin_dir / form).parent.mkdir(exist_ok=True)
    spec = {
        "Name": "other-name",
        "Addr": "https://plugins.example:8443",
        "tlsconfig": {"InsecureSkipVerify": True, "CAFile": "/ca.pem", "certFile": "/c.pem"},
        "Unknown": 1,
    }
    (plugin_dir / form).write_text(json.dumps(spec))
    found = dirs(plugin_dir).find("p")
    assert found is not None
    assert found.name == "p"  # the file's name, not Name
    assert found.url == "https://plugins.example:8443"
    assert found.tls == TLSConfig(True, "/ca.pem", "/c.pem", None)
    assert found.uses_tls


def test_tcp_with_tls_settings_uses_tls(plugin_dir: Path) -> None:
    (plugin_dir / "p.json").write_text(json.dumps({"Addr": "tcp://h:1", "TLSConfig": {}}))
    found = dirs(plugin_dir).find("p")
    assert found is not None and found.uses_tls and found.tls == TLSConfig()


def test_tls_settings_make_an_ssl_context() -> None:
    import ssl

    ctx = TLSConfig(insecure_skip_verify=True).context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert TLSConfig().context().verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(PluginSpecError, match="TLS settings cannot be used"):
        TLSConfig(ca_file="/no/such/ca.pem").context()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("127.0.0.1:9000", "Unknown protocol"),
        ("/run/x.sock", "Unknown protocol"),
        ("ftp://h:1", "Unknown protocol 'ftp'"),
        ("unix://relative.sock", "absolute socket path"),
        ("tcp://hostonly", "host and port"),
    ],
)
def test_a_spec_that_cannot_be_used_is_a_clear_error(
    plugin_dir: Path, content: str, message: str
) -> None:
    (plugin_dir / "p.spec").write_text(content)
    with pytest.raises(PluginSpecError, match=message) as info:
        dirs(plugin_dir).find("p")
    assert str(plugin_dir / "p.spec") in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ("{}", "no Addr"),
        ('{"Addr": "tcp://h:1", "TLSConfig": {"CAFile": 3}}', "CAFile must be a string"),
    ],
)
def test_a_bad_json_spec_is_a_clear_error(plugin_dir: Path, content: str, message: str) -> None:
    (plugin_dir / "p.json").write_text(content)
    with pytest.raises(PluginSpecError, match=message):
        dirs(plugin_dir).find("p")


def test_a_sock_path_that_is_not_a_socket_is_a_clear_error(plugin_dir: Path) -> None:
    (plugin_dir / "p.sock").write_text("")
    with pytest.raises(PluginSpecError, match="is not a socket"):
        dirs(plugin_dir).find("p")


def test_a_spec_naming_a_path_that_is_not_a_socket_fails_clearly(
    plugin_dir: Path, make_controller: Callable[..., libnet.Controller]
) -> None:
    (plugin_dir / "file").write_text("")
    (plugin_dir / "p.spec").write_text(f"unix://{plugin_dir}/file")
    c = make_controller()
    with pytest.raises(UnknownDriverError, match="is not a socket"):
        c.new_network("p", "n")


def test_names_lists_sockets_specs_and_subfolders_once(
    plugin_dir: Path, make_socket: Callable[[Path], Path]
) -> None:
    make_socket(plugin_dir / "a.sock")
    make_socket(plugin_dir / "b" / "b.sock")
    (plugin_dir / "c.spec").write_text("tcp://h:1")
    (plugin_dir / "d").mkdir()
    (plugin_dir / "d" / "d.json").write_text('{"Addr": "tcp://h:1"}')
    (plugin_dir / "a.json").write_text('{"Addr": "tcp://h:1"}')
    (plugin_dir / "e").mkdir()
    (plugin_dir / "e" / "other.spec").write_text("tcp://h:1")  # not DIR/DIR.*
    (plugin_dir / "notes.txt").write_text("")
    (plugin_dir / "f.sock").write_text("")  # not a socket
    assert dirs(plugin_dir).names() == ["a", "b", "c", "d"]


def test_libnet_drivers_lists_the_plugins_a_scan_finds(
    plugin_dir: Path,
    make_socket: Callable[[Path], Path],
    make_controller: Callable[..., libnet.Controller],
) -> None:
    make_socket(plugin_dir / "sockplug.sock")
    (plugin_dir / "specplug.spec").write_text("tcp://127.0.0.1:1")
    (plugin_dir / "badplug.spec").write_text("nowhere")
    (plugin_dir / "null.spec").write_text("tcp://127.0.0.1:1")
    rows = {
        r.name: (r.status, r.address)
        for r in make_controller().drivers()
        if r.source == "docker-plugin"
    }
    assert rows == {
        "sockplug": ("not-loaded", f"unix://{plugin_dir}/sockplug.sock"),
        "specplug": ("not-loaded", "tcp://127.0.0.1:1"),
        "badplug": ("failed", None),
        "null": ("shadowed", "tcp://127.0.0.1:1"),
    }


def test_an_absent_plugin_is_never_contacted_and_fails_at_once(
    make_controller: Callable[..., libnet.Controller],
) -> None:
    c = make_controller()
    started = time.perf_counter()
    with pytest.raises(UnknownDriverError, match="no driver serves network type 'nosuch'"):
        c.new_network("nosuch", "n")
    elapsed = time.perf_counter() - started
    print(f"\nunknown network type failed in {elapsed * 1000:.2f} ms (Docker: ~17 s)")
    assert c._remote.docker.get().plugins() == {}  # no client made: zero connection attempts


def test_plugin_lookup_is_off_with_an_empty_list_or_plugins_off(
    plugin_dir: Path,
    make_socket: Callable[[Path], Path],
    make_controller: Callable[..., libnet.Controller],
) -> None:
    make_socket(plugin_dir / "p.sock")
    for c in (make_controller(plugin_dirs=[]), make_controller(plugins="off")):
        assert not c.driver_available("p")
        assert [r for r in c.drivers() if r.source == "docker-plugin"] == []
        with pytest.raises(UnknownDriverError):
            c.new_network("p", "n")


def test_the_controller_reads_libnet_plugin_dirs(
    plugin_dir: Path, make_socket: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_socket(plugin_dir / "envplug.sock")
    monkeypatch.setenv("LIBNET_PLUGIN_DIRS", f"/nonexistent:{plugin_dir}")
    c = libnet.Controller()
    try:
        assert c.driver_available("envplug")
        assert [r.name for r in c.drivers() if r.source == "docker-plugin"] == ["envplug"]
    finally:
        c.close()


@pytest.mark.parametrize(
    "kwargs", [{"plugin_timeout": 0}, {"plugin_timeout": "5"}, {"plugin_timeouts": {"p": -1}}]
)
def test_a_bad_plugin_timeout_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(libnet.LibnetError, match="positive number of seconds"):
        libnet.Controller(plugin_dirs=[], **kwargs)  # type: ignore[arg-type]
