"""libnet drivers served as Docker plugins: every method, errors, robustness, files, state."""

from __future__ import annotations

import grp
import os
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _drivers import LOCAL, RecordingDriver

import libnet
from libnet import labels
from libnet.drivers.remote.docker import DockerDriver, DockerPlugins, PluginCallError, PluginDirs
from libnet.errors import DriverError
from libnet.plugin import MAX_BODY, PluginServer, ServeError
from libnet.registry import DriverRegistry

from .conftest import Served, post

MakeController = Callable[..., libnet.Controller]
ServeRecording = Callable[..., Served]


def test_activate_answers_the_manifest_for_any_method(serve_recording: ServeRecording) -> None:
    served = serve_recording()
    for verb in ("POST", "GET"):
        status, body, ctype = post(served.socket, "Plugin.Activate", http_method=verb)
        assert (status, body) == (200, {"Implements": ["NetworkDriver"]})
        assert ctype == "application/vnd.docker.plugins.v1+json"


def test_every_network_method_round_trips_to_the_served_driver(
    serve_recording: ServeRecording, make_controller: MakeController
) -> None:
    served = serve_recording()
    c = make_controller()
    net = c.new_network("rec", "n1", options={"mode": "x"}, labels={"team": "blue"})
    ep = net.create_endpoint("e1")
    sb = c.new_sandbox("ctr")
    ep.join(sb, options={"dst_name": "blue0"})
    info = ep.info()
    assert ep.driver_info() == {"endpoint": ep.id, "joined": True}
    ep.leave(sb)
    ep.delete()
    net.delete()
    assert served.driver.methods() == [
        "create_network",
        "create_endpoint",
        "join",
        "program_external_connectivity",
        "endpoint_oper_info",
        "revoke_external_connectivity",
        "leave",
        "delete_endpoint",
        "delete_network",
    ]
    _, nid, options = served.driver.calls[0]
    assert nid == net.id
    assert options[labels.NETWORK_LABELS] == {"team": "blue"}
    assert options[labels.GENERIC] == {"mode": "x"}
    assert options[labels.INTERNAL] is False
    assert info["mac_address"] is not None  # set by the served driver, back through the wire
    assert (info["src_name"], info["dst_prefix"], info["dst_name"]) == (
        f"veth{ep.id[:8]}",
        "eth",
        "blue0",
    )
    assert info["gateway"] == "10.0.0.1"
    assert info["static_routes"] == [
        {"destination": "192.168.7.0/24", "route_type": 0, "next_hop": "10.0.0.1"}
    ]


def test_the_other_methods_round_trip_including_unsupported_ones(
    serve_recording: ServeRecording, make_controller: MakeController
) -> None:
    serve_recording()
    driver = make_controller().resolve_driver("rec").driver
    assert isinstance(driver, DockerDriver)
    driver.discover_new(1, {"a": 1})
    driver.discover_delete(1, {"a": 1})
    with pytest.raises(PluginCallError, match="does not implement allocate_network") as info:
        driver.allocate_network("n", {}, [], [])
    assert info.value.status == 500
    with pytest.raises(PluginCallError, match="does not implement free_network"):
        driver.free_network("n")


def test_a_driver_error_is_a_500_with_err(
    serve_recording: ServeRecording, make_controller: MakeController
) -> None:
    served = serve_recording(fail_on={"create_network"})
    with pytest.raises(DriverError, match="create_network failed on purpose"):
        make_controller().new_network("rec", "n1")
    status, body, _ = post(served.socket, "NetworkDriver.CreateNetwork", {"NetworkID": "abc"})
    assert status == 500
    assert "create_network failed on purpose" in body["Err"]
    status, body, _ = post(
        served.socket, "NetworkDriver.DeleteEndpoint", {"NetworkID": "a", "EndpointID": "b"}
    )
    assert status == 500 and body["Err"]


@pytest.mark.parametrize(
    ("method", "body", "status", "message"),
    [
        ("NetworkDriver.CreateNetwork", b"{not json", 400, "not JSON"),
        ("NetworkDriver.CreateNetwork", b'{"NetworkID": 7}', 400, "NetworkID must be a string"),
        ("NetworkDriver.CreateNetwork", b"[]", 400, "JSON object"),
        (
            "NetworkDriver.Join",
            b'{"NetworkID": "n", "EndpointID": "e", "Options": 3}',
            400,
            "Options",
        ),
        (
            "NetworkDriver.CreateEndpoint",
            b'{"NetworkID": "n", "EndpointID": "e", "Interface": {"Address": "10.0.0.1"}}',
            400,
            "prefix length",
        ),
        ("NetworkDriver.NoSuchMethod", b"{}", 404, "no method"),
        ("IpamDriver.RequestPool", b"{}", 404, "no method"),
        ("Other.Thing", b"", 404, "no method"),
    ],
)
def test_bad_requests_are_answered_and_change_nothing(
    serve_recording: ServeRecording, method: str, body: bytes, status: int, message: str
) -> None:
    served = serve_recording()
    got, answer, _ = post(served.socket, method, body)
    assert got == status
    assert message in answer["Err"]
    assert served.driver.calls == []
    assert post(served.socket, "NetworkDriver.GetCapabilities")[:2] == (
        200,
        {"Scope": "local", "ConnectivityScope": "local"},
    )


def test_a_method_must_be_posted(serve_recording: ServeRecording) -> None:
    served = serve_recording()
    assert post(served.socket, "NetworkDriver.GetCapabilities", http_method="GET")[0] == 405


def test_an_oversized_body_is_answered_413(serve_recording: ServeRecording) -> None:
    served = serve_recording()
    body = b'{"NetworkID": "' + b"x" * MAX_BODY + b'"}'
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(str(served.socket))
    sock.sendall(
        b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: x\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    answer = b""
    while chunk := sock.recv(65536):  # answered before the body is sent, then closed
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"exceeds the limit" in answer
    assert served.driver.calls == []


def test_a_chunked_body_is_read(serve_recording: ServeRecording) -> None:
    served = serve_recording()
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(str(served.socket))
    body = b'{"NetworkID": "chunky"}'
    sock.sendall(
        b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()
    assert served.driver.calls[0][:2] == ("create_network", "chunky")


def test_slow_and_half_closed_clients_do_not_block_others(serve_recording: ServeRecording) -> None:
    served = serve_recording()
    slow = socket.socket(socket.AF_UNIX)
    slow.connect(str(served.socket))
    slow.sendall(b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    half = socket.socket(socket.AF_UNIX)
    half.settimeout(5)
    half.connect(str(served.socket))
    half.sendall(b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    half.shutdown(socket.SHUT_WR)  # will never send the rest
    started = time.perf_counter()
    assert post(served.socket, "NetworkDriver.GetCapabilities")[0] == 200
    elapsed = time.perf_counter() - started
    print(f"\nanswered in {elapsed * 1000:.1f} ms with a slow and a half-closed client connected")
    answer = b""
    while chunk := half.recv(65536):  # until the server closes it
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"ended before Content-Length" in answer
    half.close()
    slow.close()
    assert served.driver.calls == []
    assert post(served.socket, "Plugin.Activate")[0] == 200


def test_an_idle_connection_is_closed_after_the_timeout(serve_recording: ServeRecording) -> None:
    served = serve_recording(connection_timeout=0.2)
    idle = socket.socket(socket.AF_UNIX)
    idle.settimeout(5)
    idle.connect(str(served.socket))
    idle.sendall(b"POST /Plugin.Activate HTTP/1.1\r\n")  # and then nothing
    assert idle.recv(65536) == b""
    idle.close()


def test_the_socket_has_mode_0660_and_the_group(
    serve_recording: ServeRecording, plugin_dir: Path
) -> None:
    group = next(g for g in grp.getgrall() if g.gr_gid != 0)
    served = serve_recording(socket=plugin_dir / "sub" / "dir" / "rec.sock", group=group.gr_name)
    st = os.stat(served.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == group.gr_gid
    if os.geteuid() == 0:
        assert st.st_uid == 0
    assert stat.S_IMODE(os.stat(plugin_dir / "sub").st_mode) == 0o755
    assert sorted(os.listdir(served.socket.parent)) == ["rec.sock"]  # no leftovers
    served.server.stop()
    assert not served.socket.exists()


def test_an_unknown_group_is_a_clear_error() -> None:
    with pytest.raises(ServeError, match="group 'no-such-group-x' does not exist"):
        PluginServer("null", group="no-such-group-x")


def test_a_socket_in_use_is_refused_and_a_stale_one_replaced(
    serve_recording: ServeRecording, plugin_dir: Path
) -> None:
    served = serve_recording()
    with pytest.raises(ServeError, match="in use by a running plugin"):
        PluginServer("null", name="rec", socket=served.socket).start()
    served.server.stop()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(served.socket))
    stale.close()
    again = serve_recording()
    assert post(again.socket, "Plugin.Activate")[0] == 200


def test_a_path_that_is_not_a_socket_is_refused(plugin_dir: Path) -> None:
    (plugin_dir / "x.sock").write_text("keep me")
    with pytest.raises(ServeError, match="exists and is not a socket"):
        PluginServer("null", name="x", socket=plugin_dir / "x.sock").start()
    assert (plugin_dir / "x.sock").read_text() == "keep me"


def test_tcp_writes_a_spec_file_and_removes_it_on_stop(
    serve_recording: ServeRecording, plugin_dir: Path, make_controller: MakeController
) -> None:
    spec_dir = plugin_dir / "specs"
    served = serve_recording(
        socket=None, tcp=("127.0.0.1", 0), spec_dir=spec_dir, insecure_tcp=True
    )
    spec = spec_dir / "rec.spec"
    assert spec.read_text().strip() == served.server.address
    assert served.server.address.startswith("tcp://127.0.0.1:")
    c = make_controller(plugin_dirs=[spec_dir])
    c.new_network("rec", "n1")
    (row,) = [r for r in c.drivers() if r.name == "rec"]
    assert (row.source, row.address) == ("docker-plugin", served.server.address)
    served.server.stop()
    assert not spec.exists()


def test_the_served_plugin_replays_what_docker_created_after_a_restart(
    serve_recording: ServeRecording, tmp_path: Path
) -> None:
    first = serve_recording(state_dir=tmp_path)
    post(first.socket, "NetworkDriver.CreateNetwork", {"NetworkID": "n1", "Options": {}})
    status, reply, _ = post(
        first.socket,
        "NetworkDriver.CreateEndpoint",
        {"NetworkID": "n1", "EndpointID": "e1", "Interface": {"Address": "10.0.0.2/24"}},
    )
    assert status == 200 and reply["Interface"]["MacAddress"]
    first.server.stop()
    second = serve_recording(state_dir=tmp_path)
    assert second.driver.methods() == ["create_network", "create_endpoint"]  # replayed
    status, join, _ = post(
        second.socket, "NetworkDriver.Join", {"NetworkID": "n1", "EndpointID": "e1"}
    )
    assert status == 200 and join["InterfaceName"]["SrcName"] == "vethe1"
    # Docker's own replay of a create is answered from the record, not run twice.
    again = post(
        second.socket,
        "NetworkDriver.CreateEndpoint",
        {"NetworkID": "n1", "EndpointID": "e1", "Interface": {"Address": "10.0.0.2/24"}},
    )
    assert again[:2] == (200, reply)
    assert post(second.socket, "NetworkDriver.CreateNetwork", {"NetworkID": "n1"})[0] == 200
    assert second.driver.methods() == ["create_network", "create_endpoint", "join"]
    status, body, _ = post(
        second.socket,
        "NetworkDriver.CreateNetwork",
        {"NetworkID": "n1", "Options": {labels.INTERNAL: True}},
    )
    assert status == 500 and "already exists with other options" in body["Err"]
    post(second.socket, "NetworkDriver.Leave", {"NetworkID": "n1", "EndpointID": "e1"})
    post(second.socket, "NetworkDriver.DeleteEndpoint", {"NetworkID": "n1", "EndpointID": "e1"})
    post(second.socket, "NetworkDriver.DeleteNetwork", {"NetworkID": "n1"})
    second.server.stop()
    third = serve_recording(state_dir=tmp_path)
    assert third.driver.calls == []  # nothing left to replay


def test_the_served_driver_is_the_controllers_own_object(plugin_dir: Path) -> None:
    c = libnet.Controller(plugins="off")
    driver = RecordingDriver()
    c.register_driver("rec", driver, LOCAL)
    with PluginServer("rec", controller=c, socket=plugin_dir / "rec.sock") as server:
        assert server.driver is c.resolve_driver("rec").driver is driver
        assert server.manifest == ["NetworkDriver"]
    c.close()


def test_an_ipam_driver_is_served_in_the_same_plugin(plugin_dir: Path) -> None:
    with PluginServer("null", name="both", socket=plugin_dir / "both.sock", ipam="default") as srv:
        assert srv.manifest == ["NetworkDriver", "IpamDriver"]
        plugins = DockerPlugins(DriverRegistry(), dirs=PluginDirs.resolve([plugin_dir]))
        ipam, cap = plugins.ipam("both")
        assert (cap.requires_mac_address, cap.requires_request_replay) == (False, False)
        assert ipam.get_default_address_spaces() == ("LocalDefault", "GlobalDefault")
        pool_id, pool, _ = ipam.request_pool("LocalDefault", "10.123.0.0/24")
        assert pool == "10.123.0.0/24"
        gateway, _ = ipam.request_address(
            pool_id, None, {"RequestAddressType": "com.docker.network.gateway"}
        )
        address, _ = ipam.request_address(pool_id)
        assert (gateway, address) == ("10.123.0.1/24", "10.123.0.2/24")
        with pytest.raises(PluginCallError, match=r"10\.123\.0\.2"):
            ipam.request_address(pool_id, "10.123.0.2")
        ipam.release_address(pool_id, "10.123.0.2")
        ipam.release_pool(pool_id)
        with pytest.raises(PluginCallError):
            ipam.release_pool(pool_id)


def test_an_ipam_only_plugin_and_unknown_ipam(plugin_dir: Path) -> None:
    with PluginServer(None, ipam="null", socket=plugin_dir / "null.sock") as srv:
        assert (srv.name, srv.manifest) == ("null", ["IpamDriver"])
        assert post(plugin_dir / "null.sock", "NetworkDriver.CreateNetwork", {})[0] == 404
    with pytest.raises(libnet.UnknownDriverError, match="no IPAM driver named 'nosuch'"):
        PluginServer(None, ipam="nosuch", socket=plugin_dir / "x.sock").start()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"socket": "/tmp/x.sock", "tcp": ("127.0.0.1", 0)}, "not both"),
        ({"spec_dir": "/tmp"}, "only used with TCP"),
        ({"tcp": ("127.0.0.1", 70000), "insecure_tcp": True}, "TCP port"),
        ({"name": "Bad Name"}, "not valid"),
    ],
)
def test_bad_server_settings_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(libnet.LibnetError, match=message):
        PluginServer("null", **kwargs)


def test_an_unknown_driver_is_a_clear_error(plugin_dir: Path) -> None:
    with pytest.raises(libnet.UnknownDriverError, match="nosuch"):
        PluginServer("nosuch", socket=plugin_dir / "x.sock").start()
    assert not (plugin_dir / "x.sock").exists()
