"""libnet-cni driven by hand, as the CNI spec says a runtime drives a plugin."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _cni import CNI_DIR, LIBNET_CNI, Host, addresses, links, ping

from libnet import Controller


def conf(state_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "cniVersion": "1.0.0",
        "name": "n1",
        "type": "libnet-cni",
        "driver": "bridge",
        "subnet": "10.88.0.0/24",
        "stateDir": str(state_dir),
        **extra,
    }


def endpoints(state_dir: Path) -> list[str]:
    with Controller(state_dir=state_dir, plugins="off") as c:
        return [ep.name for net in c.networks() for ep in net.endpoints()]


def sandboxes(state_dir: Path) -> list[str]:
    with Controller(state_dir=state_dir, plugins="off") as c:
        return [s.container_id for s in c.sandboxes()]


def test_version_lists_the_supported_spec_versions(host: Host) -> None:
    reply = host.plugin(LIBNET_CNI, "VERSION", b"")
    assert reply.status == 0, reply.stderr
    assert "1.0.0" in reply.result["supportedVersions"]
    assert "0.4.0" in reply.result["supportedVersions"]


def test_add_gives_the_specs_result_and_the_interface_named_as_asked(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    ns = netns()
    reply = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="net7")
    assert reply.status == 0, reply.stderr
    result = reply.result
    assert result["cniVersion"] == "1.0.0"
    container = [i for i, entry in enumerate(result["interfaces"]) if entry.get("sandbox") == ns]
    assert len(container) == 1
    entry = result["interfaces"][container[0]]
    assert entry["name"] == "net7"
    assert entry["mac"] == links(ns)["net7"]["address"]
    (ip,) = result["ips"]
    assert ip["interface"] == container[0]
    assert ipaddress.ip_interface(ip["address"]).network == ipaddress.ip_network("10.88.0.0/24")
    assert ip["gateway"] == "10.88.0.1"
    assert {"dst": "0.0.0.0/0", "gw": "10.88.0.1"} in result["routes"]
    assert addresses(ns, "net7") == [ip["address"]]
    assert all("sandbox" not in e for i, e in enumerate(result["interfaces"]) if i != container[0])
    assert reply.stdout.lstrip().startswith("{")  # nothing but the result on stdout


def test_check_passes_then_del_removes_the_interface_endpoint_and_sandbox(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    ns = netns()
    added = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    assert added.status == 0, added.stderr
    checked = host.plugin(
        LIBNET_CNI,
        "CHECK",
        conf(state_dir, prevResult=added.result),
        container="c1",
        netns=ns,
        ifname="eth0",
    )
    assert checked.status == 0, checked.stdout + checked.stderr
    assert checked.stdout == ""
    assert endpoints(state_dir) and sandboxes(state_dir) == ["c1"]
    deleted = host.plugin(
        LIBNET_CNI, "DEL", conf(state_dir), container="c1", netns=ns, ifname="eth0"
    )
    assert deleted.status == 0, deleted.stderr
    assert "eth0" not in links(ns)
    assert endpoints(state_dir) == [] and sandboxes(state_dir) == []


def test_check_reports_an_address_missing_from_the_kernel(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    ns = netns()
    added = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    subprocess.run(["nsenter", f"--net={ns}", "ip", "addr", "flush", "dev", "eth0"], check=True)
    checked = host.plugin(
        LIBNET_CNI,
        "CHECK",
        conf(state_dir, prevResult=added.result),
        container="c1",
        netns=ns,
        ifname="eth0",
    )
    assert checked.status != 0
    assert checked.result["code"] == 101
    assert added.result["ips"][0]["address"] in checked.result["msg"]


def test_check_reports_a_prev_result_that_differs_from_the_store(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    ns = netns()
    added = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    forged = json.loads(json.dumps(added.result))
    forged["ips"][0]["address"] = "10.88.0.200/24"
    checked = host.plugin(
        LIBNET_CNI,
        "CHECK",
        conf(state_dir, prevResult=forged),
        container="c1",
        netns=ns,
        ifname="eth0",
    )
    assert checked.status != 0 and checked.result["code"] == 101
    assert "10.88.0.200/24" in checked.result["msg"]


def test_del_twice_succeeds(host: Host, netns: Callable[[], str], state_dir: Path) -> None:
    ns = netns()
    host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    for _ in range(2):
        reply = host.plugin(
            LIBNET_CNI, "DEL", conf(state_dir), container="c1", netns=ns, ifname="eth0"
        )
        assert reply.status == 0, reply.stdout + reply.stderr
    assert endpoints(state_dir) == []


def test_del_without_any_state_creates_nothing(host: Host, state_dir: Path) -> None:
    reply = host.plugin(
        LIBNET_CNI, "DEL", conf(state_dir), container="c1", netns="/run/netns/gone", ifname="eth0"
    )
    assert reply.status == 0, reply.stdout + reply.stderr
    assert not state_dir.exists()


def test_del_after_the_namespace_is_gone(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    ns = netns()
    added = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    assert added.status == 0, added.stderr
    subprocess.run(["ip", "netns", "del", Path(ns).name], check=True)
    reply = host.plugin(LIBNET_CNI, "DEL", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    assert reply.status == 0, reply.stdout + reply.stderr
    assert endpoints(state_dir) == [] and sandboxes(state_dir) == []
    host_links = set(links(host.path))
    assert not any(name.startswith("veth") for name in host_links), host_links


@pytest.mark.parametrize(
    ("stdin", "env", "code"),
    [
        (b"{not json", {}, 6),
        (b'{"name": "n1", "type": "libnet-cni"}', {}, 7),
        (b'{"cniVersion": "9.9.9", "name": "n1", "type": "libnet-cni"}', {}, 1),
        (
            b'{"cniVersion": "1.0.0", "name": "n1", "type": "libnet-cni", '
            b'"ipam": {"type": "host-local"}}',
            {},
            2,
        ),
        (b'{"cniVersion": "1.0.0", "name": "n1", "type": "libnet-cni", "mtu": 5}', {}, 7),
        (b'{"cniVersion": "1.0.0", "name": "n1", "type": "libnet-cni"}', {"CNI_IFNAME": ""}, 4),
        (
            b'{"cniVersion": "1.0.0", "name": "n1", "type": "libnet-cni", "driver": "nosuch"}',
            {},
            7,
        ),
    ],
    ids=["json", "no-version", "bad-version", "cni-ipam", "mtu", "no-ifname", "no-driver"],
)
def test_a_bad_call_gets_the_specs_error_json(
    host: Host,
    netns: Callable[[], str],
    state_dir: Path,
    stdin: bytes,
    env: dict[str, str],
    code: int,
) -> None:
    data = json.loads(stdin) if stdin.startswith(b'{"') else None
    if data is not None:
        data["stateDir"] = str(state_dir)
        stdin = json.dumps(data).encode()
    ns = netns()
    full_env = {"CNI_IFNAME": "eth0", **env}
    reply = host.plugin(
        LIBNET_CNI, "ADD", stdin, container="c1", netns=ns, ifname="eth0", env=full_env
    )
    assert reply.status != 0
    assert reply.result["code"] == code, reply.result
    assert reply.result["msg"]
    assert set(reply.result) <= {"cniVersion", "code", "msg", "details"}
    assert "eth0" not in links(ns)


def test_add_into_a_missing_namespace_is_error_3(host: Host, state_dir: Path) -> None:
    reply = host.plugin(
        LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns="/run/netns/nope", ifname="eth0"
    )
    assert reply.status != 0 and reply.result["code"] == 3


def test_twenty_parallel_adds_get_distinct_addresses_and_reach_each_other(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    spaces = [netns() for _ in range(20)]

    def add(i: int) -> Any:
        return host.plugin(
            LIBNET_CNI, "ADD", conf(state_dir), container=f"c{i}", netns=spaces[i], ifname="eth0"
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(add, range(20)))
    for reply in replies:
        assert reply.status == 0, reply.stdout + reply.stderr
    got = [reply.result["ips"][0]["address"] for reply in replies]
    assert len(set(got)) == 20
    assert [addresses(ns, "eth0") for ns in spaces] == [[a] for a in got]
    assert ping(spaces[0], got[19].split("/")[0])


def test_portmap_chained_after_libnet_gets_its_result(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    """A conflist [libnet-cni, portmap], run as libcni runs it: portmap's prevResult is
    libnet's result, and it maps the host port to the container's address."""
    ns = netns()
    added = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    assert added.status == 0, added.stderr
    portmap = {
        "cniVersion": "1.0.0",
        "name": "n1",
        "type": "portmap",
        "capabilities": {"portMappings": True},
        "runtimeConfig": {
            "portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]
        },
        "prevResult": added.result,
    }
    mapped = host.plugin(
        CNI_DIR / "portmap", "ADD", portmap, container="c1", netns=ns, ifname="eth0"
    )
    assert mapped.status == 0, mapped.stdout + mapped.stderr
    assert mapped.result["ips"] == added.result["ips"]
    container_ip = added.result["ips"][0]["address"].split("/")[0]
    rules = host.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    assert f"--to-destination {container_ip}:80" in rules
    removed = host.plugin(
        CNI_DIR / "portmap", "DEL", portmap, container="c1", netns=ns, ifname="eth0"
    )
    assert removed.status == 0, removed.stdout + removed.stderr
    rules = host.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    assert f"--to-destination {container_ip}:80" not in rules


def test_add_after_a_chained_plugin_appends_to_its_result(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    ns = netns()
    first = host.plugin(LIBNET_CNI, "ADD", conf(state_dir), container="c1", netns=ns, ifname="eth0")
    second = host.plugin(
        LIBNET_CNI,
        "ADD",
        conf(state_dir, name="n2", subnet="10.89.0.0/24", prevResult=first.result),
        container="c1",
        netns=ns,
        ifname="eth1",
    )
    assert second.status == 0, second.stdout + second.stderr
    names = [entry["name"] for entry in second.result["interfaces"]]
    assert names[: len(first.result["interfaces"])] == [
        e["name"] for e in first.result["interfaces"]
    ]
    assert second.result["ips"][0]["address"] == first.result["ips"][0]["address"]
    eth1 = names.index("eth1")
    assert second.result["ips"][1]["interface"] == eth1


def test_status_succeeds_for_an_installed_driver_and_fails_for_a_missing_one(
    host: Host, state_dir: Path
) -> None:
    ok = host.plugin(LIBNET_CNI, "STATUS", conf(state_dir, cniVersion="1.1.0"))
    assert ok.status == 0 and ok.stdout == "", ok.stdout + ok.stderr
    assert not state_dir.exists()  # STATUS creates nothing either
    with Controller(state_dir=state_dir, plugins="off"):
        pass
    missing = host.plugin(
        LIBNET_CNI, "STATUS", conf(state_dir, cniVersion="1.1.0", driver="nosuch")
    )
    assert missing.status != 0 and missing.result["code"] == 50


def test_gc_detaches_the_attachments_the_runtime_no_longer_lists(
    host: Host, netns: Callable[[], str], state_dir: Path
) -> None:
    spaces = [netns(), netns()]
    for i, ns in enumerate(spaces):
        reply = host.plugin(
            LIBNET_CNI, "ADD", conf(state_dir), container=f"c{i}", netns=ns, ifname="eth0"
        )
        assert reply.status == 0, reply.stderr
    valid = [{"containerID": "c0", "ifname": "eth0"}]
    gc = host.plugin(
        LIBNET_CNI,
        "GC",
        conf(state_dir, cniVersion="1.1.0", **{"cni.dev/valid-attachments": valid}),
    )
    assert gc.status == 0, gc.stdout + gc.stderr
    assert "eth0" in links(spaces[0]) and "eth0" not in links(spaces[1])
    assert sandboxes(state_dir) == ["c0"]
