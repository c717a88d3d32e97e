"""libnet's remote driver against a plugin answering as Go's go-plugins-helpers does."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import libnet
from libnet import labels
from libnet.driverapi import InterfaceInfo, JoinInfo
from libnet.drivers.remote.docker import (
    DockerDriver,
    DockerPlugins,
    PluginCallError,
    PluginDirs,
    PluginProtocolError,
    PluginTimeoutError,
)
from libnet.errors import DriverError, OperationTimeoutError, UnknownDriverError
from libnet.ipam import IpamCapability
from libnet.registry import DriverRegistry
from libnet.store import MemoryStore

from ._goplugin import GoPlugin
from .conftest import GoProcess

MakeController = Callable[..., libnet.Controller]
StartGo = Callable[..., GoPlugin]


def docker_driver(c: libnet.Controller, name: str) -> DockerDriver:
    driver = c.resolve_driver(name).driver
    assert isinstance(driver, DockerDriver)
    return driver


def test_first_use_activates_reads_capabilities_and_registers(
    go_plugin: StartGo, make_controller: MakeController, plugin_dir: Path
) -> None:
    plugin = go_plugin("goplug")
    plugin.scope = "global"
    c = make_controller(global_store=MemoryStore())  # a global-scope network needs one
    assert plugin.calls == []  # nothing before first use
    net = c.new_network("goplug", "n1")
    assert plugin.methods() == [
        "Plugin.Activate",
        "NetworkDriver.GetCapabilities",
        "NetworkDriver.CreateNetwork",
    ]
    assert net.scope == "global"
    (row,) = [r for r in c.drivers() if r.name == "goplug"]
    assert (row.source, row.status, row.address) == (
        "docker-plugin",
        "ok",
        f"unix://{plugin_dir}/goplug.sock",
    )


def test_requests_look_like_the_engines(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    c.new_network("goplug", "n1")
    activate, _, create = plugin.requests
    assert activate["Accept"] == "application/vnd.docker.plugins.v1.2+json"
    assert activate["Host"] == "plugin.moby.localhost"
    assert activate["Content-Length"] == "0"  # no arguments: empty body
    assert "Content-Type" not in create


def test_a_plugin_without_network_driver_is_refused(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    plugin.implements = ["VolumeDriver"]
    with pytest.raises(UnknownDriverError, match="Plugin does not implement the requested driver"):
        make_controller().new_network("goplug", "n1")


def test_every_controller_call_reaches_the_plugin_with_labels_and_dst_name(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    net = c.new_network("goplug", "n1", options={"mode": "x"}, labels={"team": "red"})
    ep = net.create_endpoint("e1")
    sb = c.new_sandbox("ctr")
    ep.join(sb, options={labels.EXPOSED_PORTS: [{"Proto": 6, "Port": 80}]})
    info = ep.info()
    assert ep.driver_info() == {"pid": os.getpid()}
    ep.leave(sb)
    ep.delete()
    net.delete()
    assert plugin.methods()[2:] == [
        "NetworkDriver.CreateNetwork",
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.Join",
        "NetworkDriver.ProgramExternalConnectivity",
        "NetworkDriver.EndpointOperInfo",
        "NetworkDriver.RevokeExternalConnectivity",
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
        "NetworkDriver.DeleteNetwork",
    ]
    body = dict(plugin.calls)["NetworkDriver.CreateNetwork"]
    assert body["Options"][labels.NETWORK_LABELS] == {"team": "red"}
    assert body["Options"][labels.GENERIC] == {"mode": "x"}
    (pool,) = body["IPv4Data"]  # the controller's IPAM pool, gateway as address/length
    assert "/" in pool["Pool"] and "/" in pool["Gateway"]
    assert body["IPv6Data"] is None
    join = dict(plugin.calls)["NetworkDriver.Join"]
    assert join["Options"][labels.EXPOSED_PORTS] == [{"Proto": 6, "Port": 80}]
    assert info["mac_address"] == "02:42:ac:11:00:99"  # chosen by the plugin
    assert (info["src_name"], info["dst_prefix"], info["dst_name"]) == ("veth0go", "eth", "net0")
    assert info["gateway"] == "10.9.0.1"
    assert info["static_routes"] == [
        {"destination": "10.10.0.0/16", "route_type": 0, "next_hop": "10.9.0.1"},
        {"destination": "10.11.0.0/16", "route_type": 1, "next_hop": None},
    ]


def test_the_methods_the_controller_does_not_use_work_too(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    driver = docker_driver(make_controller(), "goplug")
    assert driver.allocate_network("n9", {"a": "b"}, [], []) == {"vni": "42"}
    driver.free_network("n9")
    driver.discover_new(1, {"Address": "10.0.0.9"})
    driver.discover_delete(1, {"Address": "10.0.0.9"})  # answered with null: success
    assert plugin.calls[-1] == (
        "NetworkDriver.DiscoverDelete",
        {"DiscoveryType": 1, "DiscoveryData": {"Address": "10.0.0.9"}},
    )


def test_an_error_answer_names_the_plugin_and_says_what_it_said(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    go_plugin("goplug")
    c = make_controller()
    driver = docker_driver(c, "goplug")
    with pytest.raises(PluginCallError, match=r"failed in NetworkDriver.DeleteNetwork") as info:
        driver.delete_network("nothere")
    assert info.value.status == 500
    assert info.value.message == "network nothere not found"
    assert isinstance(info.value, DriverError)


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        ((200, {"Err": "refused"}), PluginCallError, "refused"),
        ((500, {"Error": "ipam style"}), PluginCallError, "ipam style"),
        ((403, b"plain text\n"), PluginCallError, "HTTP 403: plain text"),
        ((200, b""), PluginProtocolError, "empty body"),
        ((200, b"<html>"), PluginProtocolError, "not JSON"),
        ((200, [1]), PluginProtocolError, "not a JSON object"),
        ((404, {"Err": "nope"}), PluginCallError, "nope"),
    ],
)
def test_error_forms(
    go_plugin: StartGo,
    make_controller: MakeController,
    reply: tuple[int, Any],
    error: type[Exception],
    message: str,
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    c.resolve_driver("goplug")
    plugin.replies["NetworkDriver.CreateNetwork"] = reply
    with pytest.raises(error, match=message):
        c.new_network("goplug", "n1")
    assert c.networks() == []


def test_null_body_is_success_and_404_only_for_external_connectivity(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    net = c.new_network("goplug", "n1")
    ep = net.create_endpoint("e1")
    sb = c.new_sandbox("ctr")
    plugin.replies["NetworkDriver.ProgramExternalConnectivity"] = (404, b"404 page not found")
    plugin.replies["NetworkDriver.RevokeExternalConnectivity"] = (404, b"404 page not found")
    plugin.replies["NetworkDriver.Leave"] = (200, None)
    ep.join(sb)
    ep.leave(sb)
    plugin.replies["NetworkDriver.DeleteEndpoint"] = (404, b"404 page not found")
    with pytest.raises(PluginCallError, match="HTTP 404"):
        ep.delete()


def test_a_create_endpoint_reply_that_conflicts_is_rolled_back(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    driver = docker_driver(c, "goplug")
    driver.create_network("n1", {}, [], [])
    plugin.replies["NetworkDriver.CreateEndpoint"] = (
        200,
        {"Interface": {"Address": "10.0.0.9/24"}},
    )
    iface = InterfaceInfo(address="10.0.0.2/24")
    with pytest.raises(DriverError, match=r"cannot use.*already has.*undone with DeleteEndpoint"):
        driver.create_endpoint("n1", "e1", iface, {})
    assert plugin.methods()[-2:] == ["NetworkDriver.CreateEndpoint", "NetworkDriver.DeleteEndpoint"]


def test_a_create_endpoint_reply_that_cannot_be_parsed_is_rolled_back(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    net = c.new_network("goplug", "n1")
    plugin.replies["NetworkDriver.CreateEndpoint"] = (200, {"Interface": {"MacAddress": "zz"}})
    with pytest.raises(DriverError, match="undone with DeleteEndpoint"):
        net.create_endpoint("e1")
    assert net.endpoints() == []
    assert plugin.methods()[-1] == "NetworkDriver.DeleteEndpoint"


def test_a_join_reply_that_cannot_be_applied_is_rolled_back_with_leave(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    net = c.new_network("goplug", "n1")
    ep = net.create_endpoint("e1")
    plugin.replies["NetworkDriver.Join"] = (200, {"Gateway": "not an address"})
    with pytest.raises(DriverError, match="undone with Leave"):
        ep.join(c.new_sandbox("ctr"))
    assert ep.sandbox_id is None
    assert plugin.methods()[-1] == "NetworkDriver.Leave"


def test_a_connected_route_with_a_next_hop_is_accepted_as_libnetwork_does(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    ep = c.new_network("goplug", "n1").create_endpoint("e1")
    route = {"Destination": "10.11.0.0/16", "RouteType": 1, "NextHop": "10.9.0.1"}
    plugin.replies["NetworkDriver.Join"] = (200, {"StaticRoutes": [route]})
    ep.join(c.new_sandbox("ctr"))
    assert ep.sandbox_id is not None
    assert "NetworkDriver.Leave" not in plugin.methods()


def test_a_plugin_that_never_answers_times_out_without_hanging_the_host(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    docker_driver(c, "goplug").plugin.client.timeout = 0.3  # activated: now be impatient
    plugin.hang.add("NetworkDriver.CreateNetwork")
    started = time.perf_counter()
    with pytest.raises(
        PluginTimeoutError, match=r"did not answer NetworkDriver.CreateNetwork within 0.3 s"
    ):
        c.new_network("goplug", "n1")
    print(f"\ntimed out after {time.perf_counter() - started:.2f} s")
    assert c.networks() == []
    assert isinstance(PluginTimeoutError("p", "m"), OperationTimeoutError)


def test_a_socket_that_accepts_but_never_answers_times_out_on_activation(
    plugin_dir: Path, make_controller: MakeController
) -> None:
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(plugin_dir / "silent.sock"))
    silent.listen()  # never accepted
    try:
        c = make_controller(plugin_timeouts={"silent": 0.2})
        with pytest.raises(
            UnknownDriverError, match=r"did not answer Plugin.Activate within 0.2 s"
        ):
            c.new_network("silent", "n1")
    finally:
        silent.close()


@pytest.fixture
def garbage_plugin(scripted_socket: Callable[..., Path]) -> Path:
    """A socket answering every connection with bytes that are not HTTP."""
    return scripted_socket("garbage", lambda conn: conn.sendall(b"\x00\x01garbage garbage\r\n\r\n"))


def test_a_plugin_answering_garbage_is_a_clear_error(
    garbage_plugin: Path, make_controller: MakeController
) -> None:
    c = make_controller()
    with pytest.raises(UnknownDriverError, match="not HTTP") as info:
        c.new_network("garbage", "n1")
    print(f"\n{info.value}")
    (row,) = [r for r in c.drivers() if r.name == "garbage"]
    assert row.status == "failed" and "not HTTP" in (row.error or "")


def test_a_stale_socket_is_retried_within_the_budget_then_fails(
    plugin_dir: Path, make_controller: MakeController
) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(plugin_dir / "dead.sock"))
    stale.close()  # the file stays, nobody listens
    c = make_controller(plugin_timeout=0.4)
    assert not c.driver_available("dead")
    started = time.perf_counter()
    with pytest.raises(UnknownDriverError, match="does not accept connections"):
        c.new_network("dead", "n1")
    elapsed = time.perf_counter() - started
    client = c._remote.docker.get().plugins()["dead"].client
    print(f"\ngave up after {client.connect_attempts} attempts in {elapsed:.2f} s")
    assert client.connect_attempts > 1


def test_a_plugin_that_lost_its_networks_gets_them_replayed(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    plugin = go_plugin("goplug")
    c = make_controller()
    net = c.new_network("goplug", "n1", labels={"team": "red"})
    other = c.new_network("goplug", "n2")
    ep = net.create_endpoint("e1")
    plugin.forget()  # same process, same socket: only the answer tells
    plugin.calls.clear()
    assert ep.driver_info() == {"pid": os.getpid()}
    assert plugin.methods() == [
        "NetworkDriver.EndpointOperInfo",  # "network ... not found"
        "Plugin.Activate",
        "NetworkDriver.GetCapabilities",
        "NetworkDriver.CreateNetwork",
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.EndpointOperInfo",
    ]
    replayed = dict(plugin.calls)
    assert replayed["NetworkDriver.CreateNetwork"]["NetworkID"] == net.id
    assert replayed["NetworkDriver.CreateNetwork"]["Options"][labels.NETWORK_LABELS] == {
        "team": "red"
    }
    assert replayed["NetworkDriver.CreateEndpoint"]["Interface"]["MacAddress"] == (
        "02:42:ac:11:00:99"  # the endpoint as stored, with what the plugin chose
    )
    plugin.calls.clear()
    other.delete()  # marked unknown: replayed before its first call
    assert plugin.methods() == ["NetworkDriver.CreateNetwork", "NetworkDriver.DeleteNetwork"]


def test_a_restart_of_the_controller_restores_networks_the_plugin_still_has(
    go_plugin: StartGo, make_controller: MakeController, tmp_path: Path
) -> None:
    plugin = go_plugin("goplug")
    net = make_controller(state_dir=tmp_path).new_network("goplug", "n1")
    again = make_controller(state_dir=tmp_path)
    again.network("n1").create_endpoint("e1")  # CreateNetwork again: "already exists" is fine
    assert plugin.methods()[-2:] == ["NetworkDriver.CreateNetwork", "NetworkDriver.CreateEndpoint"]
    assert list(plugin.networks) == [net.id]


def test_a_killed_and_restarted_plugin_is_reactivated_and_its_state_replayed(
    go_process: Callable[[str], GoProcess], make_controller: MakeController
) -> None:
    proc = go_process("goproc")
    c = make_controller()
    net = c.new_network("goproc", "n1", labels={"team": "red"})
    ep = net.create_endpoint("e1")
    sb = c.new_sandbox("ctr")
    ep.join(sb)
    first = proc.pid
    proc.kill()
    proc.start()  # a new process: knows nothing, new socket inode
    assert proc.pid != first
    assert ep.driver_info() == {"pid": proc.pid}
    assert [m for m, _ in proc.calls(proc.pid)] == [
        "Plugin.Activate",
        "NetworkDriver.GetCapabilities",
        "NetworkDriver.CreateNetwork",
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.EndpointOperInfo",
    ]
    ep.leave(sb)
    ep.delete()
    net.delete()
    assert [m for m, _ in proc.calls(proc.pid)][-3:] == [
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
        "NetworkDriver.DeleteNetwork",
    ]


def test_a_plugin_down_for_a_moment_is_waited_for_within_the_budget(
    go_process: Callable[[str], GoProcess], make_controller: MakeController
) -> None:
    proc = go_process("goproc")
    c = make_controller(plugin_timeout=10.0)
    net = c.new_network("goproc", "n1")
    docker_driver(c, "goproc").plugin.client.retry_budget = 30.0  # however slow the restart
    proc.kill()
    restarter = threading.Timer(0.3, proc.start)
    restarter.start()
    try:
        ep = net.create_endpoint("e1")  # connection refused, retried, then replayed
    finally:
        restarter.join()
    assert ep.info()["mac_address"] == "02:42:ac:11:00:99"
    assert [m for m, _ in proc.calls(proc.pid)][-2:] == [
        "NetworkDriver.CreateNetwork",
        "NetworkDriver.CreateEndpoint",
    ]


def test_docker_ipam_plugin_through_the_ipam_contract(go_plugin: StartGo, plugin_dir: Path) -> None:
    plugin = go_plugin("goipam", ipam=True)
    plugins = DockerPlugins(DriverRegistry(), dirs=PluginDirs.resolve([plugin_dir]))
    plugin.replies["IpamDriver.GetCapabilities"] = (404, b"404 page not found\n")
    ipam, cap = plugins.ipam("goipam")
    assert cap == IpamCapability()  # a legacy plugin: no capabilities
    assert ipam.get_default_address_spaces() == ("golocal", "goglobal")
    pool_id, pool, data = ipam.request_pool("golocal", "10.78.0.0/16")
    assert (pool_id, pool, data) == ("go/10.78.0.0/16", "10.78.0.0/16", {})
    assert ipam.request_address(pool_id, None, {"RequestAddressType": "x"}) == ("10.77.0.5/16", {})
    ipam.release_address(pool_id, "10.77.0.5")
    ipam.release_pool(pool_id)
    plugin.replies["IpamDriver.RequestPool"] = (500, {"Error": "no pools left"})
    with pytest.raises(PluginCallError, match="no pools left"):
        ipam.request_pool("golocal")
    plugin.replies["IpamDriver.GetCapabilities"] = (
        200,
        {"RequiresMACAddress": True, "RequiresRequestReplay": True},
    )
    assert ipam.capability() == IpamCapability(True, True)


def test_an_ipam_request_to_a_network_only_plugin_is_refused(
    go_plugin: StartGo, plugin_dir: Path
) -> None:
    go_plugin("goplug")
    plugins = DockerPlugins(DriverRegistry(), dirs=PluginDirs.resolve([plugin_dir]))
    with pytest.raises(DriverError, match="Plugin does not implement the requested driver"):
        plugins.ipam("goplug")


def test_join_info_from_the_plugin_reaches_a_direct_caller(
    go_plugin: StartGo, make_controller: MakeController
) -> None:
    go_plugin("goplug")
    driver = docker_driver(make_controller(), "goplug")
    driver.create_network("n1", {}, [], [])
    driver.create_endpoint("n1", "e1", InterfaceInfo(), {})
    jinfo = JoinInfo()
    driver.join("n1", "e1", "/var/run/docker/netns/0123456789ab", jinfo, {})
    assert jinfo.dst_name == "net0"  # DstName passed through (Docker ignores it)


def test_a_docker_ipam_plugin_is_activated_on_first_use_by_a_network(
    go_plugin: StartGo, make_controller: Callable[..., libnet.Controller]
) -> None:
    plugin = go_plugin("goipam", ipam=True)
    c = make_controller()
    net = c.new_network(
        "host", "h", ipam={"driver": "goipam", "config": [{"subnet": "10.78.0.0/16"}]}
    )
    assert net.to_dict()["ipam"]["config"][0]["subnet"] == "10.78.0.0/16"
    assert net.create_endpoint("e").info()["address"] == "10.77.0.5/16"
    assert [m for m in plugin.methods() if m.startswith("IpamDriver.")][:3] == [
        "IpamDriver.GetCapabilities",
        "IpamDriver.GetDefaultAddressSpaces",
        "IpamDriver.RequestPool",
    ]
    assert [r.source for r in c.ipam_drivers() if r.name == "goipam"] == ["docker-plugin"]


def test_an_ipam_driver_found_nowhere_fails_naming_it(
    make_controller: Callable[..., libnet.Controller],
) -> None:
    c = make_controller()
    with pytest.raises(libnet.UnknownDriverError, match="no IPAM driver named 'nowhere'"):
        c.new_network("host", "h", ipam={"driver": "nowhere"})
