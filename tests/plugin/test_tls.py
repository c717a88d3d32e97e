"""A plugin served on TCP with TLS, and libnet's client reaching it through a ``.json`` spec.

Real certificates (``openssl``), a real server on a loopback port, a controller finding the
plugin through the spec file the server wrote.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import libnet
from libnet.dockerplugin.client import PluginClient
from libnet.dockerplugin.discovery import PluginDirs
from libnet.errors import LibnetError, PluginTimeoutError
from libnet.plugin import PluginServer, ServeError, ServerTLS

from ._certs import Certs
from .conftest import Served

MakeController = Callable[..., libnet.Controller]
ServeRecording = Callable[..., Served]
Through = Callable[..., tuple[Path, libnet.Controller]]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def mutual(certs: Certs) -> ServerTLS:
    """Mutual TLS: the plugin's certificate, and Docker's client certificate in the spec."""
    return ServerTLS(
        certs.server,
        certs.server_key,
        client_ca=certs.ca,
        spec_cert=certs.client,
        spec_key=certs.client_key,
    )


@pytest.fixture
def serve_tls(
    serve_recording: ServeRecording, plugin_dir: Path, mutual: ServerTLS
) -> Callable[..., Served]:
    """``serve_tls(**kwargs)``: the recording driver as plugin ``rec`` on 127.0.0.1 with TLS."""

    def serve(**kwargs: Any) -> Served:
        kwargs.setdefault("tls", mutual)
        return serve_recording(
            socket=None, tcp=("127.0.0.1", 0), spec_dir=plugin_dir / "specs", **kwargs
        )

    return serve


def write_spec(directory: Path, name: str, addr: str, **tls: object) -> Path:
    """A ``.json`` spec of our own for plugin ``name`` at ``addr`` (paths as strings)."""
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.json"
    config = {key: str(v) if isinstance(v, Path) else v for key, v in tls.items()}
    path.write_text(json.dumps({"Name": name, "Addr": addr, "TLSConfig": config}))
    return path


@pytest.fixture
def through(plugin_dir: Path, make_controller: MakeController) -> Through:
    """``through(name, served, **tls)``: a spec ``name``.json of our own for the served
    plugin, and a controller finding plugins only there."""

    def make(name: str, served: Served, **tls: object) -> tuple[Path, libnet.Controller]:
        spec = write_spec(plugin_dir / name, name, served.server.address, **tls)
        return spec, make_controller(plugin_dirs=[spec.parent])

    return make


def test_the_spec_is_json_with_https_and_docker_tls_fields(
    serve_tls: Callable[..., Served], plugin_dir: Path, certs: Certs
) -> None:
    served = serve_tls()
    spec = plugin_dir / "specs" / "rec.json"
    data = json.loads(spec.read_text())
    assert data["Addr"] == served.server.address
    assert data["Addr"].startswith("https://127.0.0.1:")
    assert data["TLSConfig"] == {
        "InsecureSkipVerify": False,
        "CAFile": str(certs.ca),
        "CertFile": str(certs.client),
        "KeyFile": str(certs.client_key),
    }
    assert not (plugin_dir / "specs" / "rec.spec").exists()
    served.server.stop()
    assert not spec.exists()


def test_a_controller_drives_the_plugin_over_mutual_tls(
    serve_tls: Callable[..., Served], plugin_dir: Path, make_controller: MakeController
) -> None:
    served = serve_tls()
    c = make_controller(plugin_dirs=[plugin_dir / "specs"])
    net = c.new_network("rec", "n1")
    ep = net.create_endpoint("e1")
    ep.delete()
    net.delete()
    assert served.driver.methods()[-4:] == [
        "create_network",
        "create_endpoint",
        "delete_endpoint",
        "delete_network",
    ]
    (row,) = [r for r in c.drivers() if r.name == "rec"]
    assert (row.source, row.address) == ("docker-plugin", served.server.address)


@pytest.mark.parametrize("client", ["none", "other-ca"])
def test_a_client_without_a_certificate_the_plugin_trusts_is_refused(
    serve_tls: Callable[..., Served], through: Through, certs: Certs, client: str
) -> None:
    served = serve_tls()
    files = {} if client == "none" else {"CertFile": certs.other_client}
    if files:
        files["KeyFile"] = certs.other_client_key
    spec, c = through("rogue", served, CAFile=certs.ca, **files)
    with pytest.raises(LibnetError) as caught:
        c.new_network("rogue", "n1")
    message = str(caught.value)
    assert "Docker plugin 'rogue'" in message and "TLS failed" in message
    assert str(spec) in message
    if client == "none":
        assert "requires a client certificate" in message
    assert "create_network" not in served.driver.methods()


def test_the_client_checks_the_plugin_certificate_unless_told_not_to(
    serve_tls: Callable[..., Served], through: Through, certs: Certs
) -> None:
    served = serve_tls()
    client = {"CertFile": certs.client, "KeyFile": certs.client_key}
    _, c = through("wrongca", served, CAFile=certs.other_ca, **client)
    with pytest.raises(LibnetError, match=r"in the handshake \(certificate verify failed"):
        c.new_network("wrongca", "n1")
    _, c = through("skip", served, InsecureSkipVerify=True, **client)
    c.new_network("skip", "n1")
    assert "create_network" in served.driver.methods()


def test_a_missing_certificate_file_names_the_plugin_the_field_and_the_spec(
    serve_tls: Callable[..., Served], through: Through, plugin_dir: Path, certs: Certs
) -> None:
    missing = plugin_dir / "no-such-client.pem"
    spec, c = through(
        "nocert", serve_tls(), CAFile=certs.ca, CertFile=missing, KeyFile=certs.client_key
    )
    with pytest.raises(LibnetError) as caught:
        c.new_network("nocert", "n1")
    assert (
        f"Docker plugin 'nocert' ({spec}): plugin TLS settings cannot be used: "
        f"TLSConfig.CertFile {missing} cannot be read: No such file or directory"
    ) in str(caught.value)


def test_a_spec_that_would_not_let_docker_in_stops_the_server_at_start(
    plugin_dir: Path, certs: Certs
) -> None:
    tls = ServerTLS(
        certs.server,
        certs.server_key,
        client_ca=certs.ca,
        spec_cert=certs.client,
        spec_key=certs.client_key,
        spec_ca=certs.other_ca,
    )
    server = PluginServer("null", tcp=("127.0.0.1", 0), spec_dir=plugin_dir, tls=tls)
    with pytest.raises(ServeError, match=r"cannot connect through .*certificate verify failed"):
        server.start()
    assert list(plugin_dir.iterdir()) == []
    port = int(server.address.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_ca": "ca.pem"}, "give the one Docker presents with --spec-cert"),
        ({"spec_cert": "c.pem", "spec_key": "c.key"}, "only asked for with a client CA"),
        ({"spec_cert": "c.pem"}, "together"),
    ],
)
def test_tls_settings_that_leave_docker_out_are_refused(
    kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ServeError, match=message):
        ServerTLS("s.pem", "s.key", **kwargs)  # type: ignore[arg-type]


def test_an_unreadable_server_key_is_named_before_anything_is_touched(
    plugin_dir: Path, tmp_path: Path, certs: Certs
) -> None:
    tls = ServerTLS(certs.server, plugin_dir / "gone.key")
    state = tmp_path / "state"
    server = PluginServer(
        "null", tcp=("127.0.0.1", 0), spec_dir=plugin_dir, tls=tls, state_dir=state
    )
    with pytest.raises(ServeError, match=r"cannot read the plugin's TLS key .*gone.key: No such"):
        server.start()
    assert not state.exists()
    with pytest.raises(ServeError, match=r"cannot be used together"):
        PluginServer(
            "null",
            tcp=("127.0.0.1", 0),
            spec_dir=plugin_dir,
            tls=ServerTLS(certs.server, certs.client_key),
        ).start()
    assert list(plugin_dir.iterdir()) == []


def test_plain_tcp_needs_an_explicit_choice(plugin_dir: Path) -> None:
    with pytest.raises(ServeError, match=r"serving on TCP needs TLS.*--insecure-tcp"):
        PluginServer("null", tcp=("127.0.0.1", 0), spec_dir=plugin_dir)
    with pytest.raises(ServeError, match="not both"):
        PluginServer(
            "null",
            tcp=("127.0.0.1", 0),
            tls=ServerTLS("s.pem", "s.key"),
            insecure_tcp=True,
        )
    with pytest.raises(ServeError, match="only used with TCP"):
        PluginServer("null", socket=plugin_dir / "x.sock", tls=ServerTLS("s.pem", "s.key"))


@pytest.mark.parametrize("transport", ["plain", "tls", "mutual"])
def test_tcp_without_client_certificates_warns_that_anyone_can_drive_the_driver(
    plugin_dir: Path,
    caplog: pytest.LogCaptureFixture,
    certs: Certs,
    mutual: ServerTLS,
    transport: str,
) -> None:
    tls = {"plain": None, "tls": ServerTLS(certs.server, certs.server_key, spec_ca=certs.ca)}.get(
        transport, mutual
    )
    with PluginServer(
        "null", tcp=("127.0.0.1", 0), spec_dir=plugin_dir, tls=tls, insecure_tcp=tls is None
    ):
        pass
    warnings = [r.message for r in caplog.records if r.levelname == "WARNING"]
    if transport == "mutual":
        assert warnings == []
    else:
        (warning,) = warnings
        assert "without authentication: anyone who can reach the port" in warning
        assert ("plain TCP, without TLS," in warning) == (transport == "plain")


def test_a_stale_plain_spec_does_not_hide_the_tls_one(
    serve_tls: Callable[..., Served], plugin_dir: Path, make_controller: MakeController
) -> None:
    specs = plugin_dir / "specs"
    specs.mkdir()
    (specs / "rec.spec").write_text("tcp://127.0.0.1:1\n")  # nothing answers there
    served = serve_tls()
    assert not (specs / "rec.spec").exists()
    make_controller(plugin_dirs=[specs]).new_network("rec", "n1")
    assert "create_network" in served.driver.methods()


# -- hostile clients -----------------------------------------------------------------------


def _closed_by_peer(sock: socket.socket, wait: float) -> bool:
    """Whether the server closed ``sock`` (EOF or reset) within ``wait`` seconds."""
    ready, _, _ = select.select([sock], [], [], wait)
    if not ready:
        return False
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def _port(served: Served) -> int:
    return int(served.server.address.rsplit(":", 1)[1])


@pytest.fixture
def raw(served_port: int) -> Iterator[Callable[[], socket.socket]]:
    """``raw()``: a TCP connection to the plugin that sends nothing yet."""
    made: list[socket.socket] = []

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", served_port), timeout=10)
        made.append(sock)
        return sock

    yield connect
    for sock in made:
        sock.close()


@pytest.fixture
def one_slot(serve_tls: Callable[..., Served]) -> Served:
    """The plugin with one connection slot and a 0.5 s handshake deadline."""
    return serve_tls(max_connections=1, handshake_timeout=0.5)


@pytest.fixture
def served_port(one_slot: Served) -> int:
    return _port(one_slot)


def test_a_client_that_never_handshakes_holds_its_slot_only_until_the_deadline(
    one_slot: Served,
    raw: Callable[[], socket.socket],
    plugin_dir: Path,
    make_controller: MakeController,
) -> None:
    silent = raw()
    assert _closed_by_peer(silent, 30), "the server kept a silent connection open"
    make_controller(plugin_dirs=[plugin_dir / "specs"]).new_network("rec", "n1")
    assert "create_network" in one_slot.driver.methods()


def test_a_handshake_trickled_a_byte_at_a_time_is_cut_off(
    one_slot: Served, raw: Callable[[], socket.socket]
) -> None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    hello_side = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="x")
    with pytest.raises(ssl.SSLWantReadError):
        hello_side.do_handshake()
    hello = outgoing.read()
    sock = raw()
    started = time.monotonic()
    for byte in hello[:-1]:  # each byte well within any per-wait timeout; never the whole
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        if _closed_by_peer(sock, 0.1):
            break
    else:
        pytest.fail(f"the server waited {time.monotonic() - started:.1f} s for the handshake")


def test_a_tcp_address_with_tls_settings_is_reached_over_tls(
    serve_tls: Callable[..., Served],
    plugin_dir: Path,
    make_controller: MakeController,
    certs: Certs,
) -> None:
    served = serve_tls()
    spec = write_spec(
        plugin_dir / "tcptls",
        "tcptls",
        served.server.address.replace("https://", "tcp://"),
        CAFile=certs.ca,
        CertFile=certs.client,
        KeyFile=certs.client_key,
    )
    make_controller(plugin_dirs=[spec.parent]).new_network("tcptls", "n1")
    assert "create_network" in served.driver.methods()


def test_an_answer_trickled_over_tls_fails_within_the_call_timeout(
    plugin_dir: Path, certs: Certs
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server, certs.server_key)
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n")
            for _ in range(100):  # a byte every 0.2 s: each wait is short, the whole is not
                if done.wait(0.2):
                    break
                tls.sendall(b" ")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    write_spec(plugin_dir, "slow", f"https://127.0.0.1:{port}", CAFile=certs.ca)
    address = PluginDirs((), (plugin_dir,)).find("slow")
    assert address is not None
    client = PluginClient(address, timeout=1.0, retry_budget=0)
    started = time.monotonic()
    try:
        with pytest.raises(PluginTimeoutError, match=r"within 1 s"):
            client.call("NetworkDriver.GetCapabilities")
        assert time.monotonic() - started < 10.0  # the trickle would last 20 s
    finally:
        done.set()
        thread.join(10)
        listener.close()


def test_plain_http_sent_to_the_tls_port_is_told_to_use_https(
    serve_tls: Callable[..., Served],
) -> None:
    served = serve_tls()
    host, port = served.server.address.removeprefix("https://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/Plugin.Activate", body=b"")
        reply = conn.getresponse()
        body = json.loads(reply.read())
    finally:
        conn.close()
    assert reply.status == 400
    assert body["Err"].startswith("this plugin speaks TLS: its address must be https://")
