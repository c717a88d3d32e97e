"""libnet-cni's network configuration, CNI_* variables, results and VERSION (no kernel)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from libnet.cni._config import call_from, decode, parse
from libnet.cni._errors import CniError
from libnet.cni._main import run
from libnet.cni._plugin import endpoint_name, translate
from libnet.cni._result import Attachment, build, container_ips
from libnet.errors import PoolExhaustedError, StoreBusyError, UnknownDriverError


def base(**extra: Any) -> dict[str, Any]:
    return {"cniVersion": "1.0.0", "name": "n1", "type": "libnet-cni", **extra}


def code_of(raw: dict[str, Any]) -> int:
    with pytest.raises(CniError) as info:
        parse(raw)
    return info.value.code


def test_one_subnet_becomes_dockers_ipam_shape() -> None:
    conf = parse(base(subnet="10.88.0.0/24", gateway="10.88.0.254", ipRange="10.88.0.128/25"))
    assert conf.ipam == {
        "config": [
            {"subnet": "10.88.0.0/24", "gateway": "10.88.0.254", "ip_range": "10.88.0.128/25"}
        ]
    }
    assert conf.driver == "bridge" and conf.state_dir == "/var/lib/libnet"


def test_several_subnets_an_ipam_driver_and_options() -> None:
    conf = parse(
        base(
            subnets=[{"subnet": "10.1.0.0/24"}, {"subnet": "fd00:1::/64"}],
            ipamDriver="default",
            ipv6=True,
            mtu=1400,
            options={"com.docker.network.bridge.name": "cni0"},
        )
    )
    assert conf.ipam is not None
    assert [p["subnet"] for p in conf.ipam["config"]] == ["10.1.0.0/24", "fd00:1::/64"]
    assert conf.ipam["driver"] == "default" and conf.enable_ipv6
    assert conf.options["com.docker.network.driver.mtu"] == "1400"


def test_no_pool_leaves_the_choice_to_libnets_ipam() -> None:
    assert parse(base()).ipam is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (base(ipam={"type": "host-local"}), 2),
        (base(subnet="10.0.0.0/8", subnets=[{"subnet": "10.1.0.0/16"}]), 7),
        (base(subnets=[{"gateway": "10.0.0.1"}]), 7),
        (base(subnets=[{"subnet": "10.0.0.0/8", "range": "x"}]), 7),
        (base(mtu=True), 7),
        (base(ipv6="yes"), 7),
        (base(cniVersion="0.2.0"), 1),
        ({"name": "n1"}, 7),
        (base(name=""), 7),
    ],
)
def test_bad_configurations_get_the_specs_codes(raw: dict[str, Any], code: int) -> None:
    assert code_of(raw) == code


def test_stdin_that_is_not_a_json_object_is_error_6() -> None:
    for data in (b"", b"[1]", b"\xff"):
        with pytest.raises(CniError) as info:
            decode(data)
        assert info.value.code == 6


def test_variables_each_command_needs() -> None:
    with pytest.raises(CniError) as info:
        call_from({"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"})
    assert info.value.code == 4 and "CNI_NETNS" in info.value.msg
    call = call_from({"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"})
    assert call.netns == ""
    parsed = call_from({"CNI_COMMAND": "VERSION", "CNI_ARGS": "IgnoreUnknown=1;IP=10.0.0.9"})
    assert parsed.args == {"IgnoreUnknown": "1", "IP": "10.0.0.9"}


def test_endpoint_names_are_unique_per_container_and_interface() -> None:
    names = {endpoint_name(c, i) for c in ("a" * 64, "a" * 63 + "b") for i in ("eth0", "eth1")}
    assert len(names) == 4
    assert all(len(n) <= 64 and n.startswith("cni-") for n in names)
    assert endpoint_name("c1", "eth 0/x").replace("_", "").isascii()


def test_the_result_numbers_ips_after_a_previous_results_interfaces() -> None:
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "lo0"}],
        "ips": [{"interface": 0, "address": "192.168.0.2/24"}],
    }
    att = Attachment(
        ifname="eth1",
        netns="/run/netns/x",
        mac="02:42:0a:00:00:02",
        addresses=["10.0.0.2/24"],
        gateway="10.0.0.1",
        host_interfaces=[("br0", None)],
    )
    result = build(att, "1.0.0", prev)
    assert [i["name"] for i in result["interfaces"]] == ["lo0", "br0", "eth1"]
    assert result["ips"][1] == {"interface": 2, "address": "10.0.0.2/24", "gateway": "10.0.0.1"}
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.0.0.1"}]
    assert container_ips(result, "eth1", "/run/netns/x") == ["10.0.0.2/24"]
    old = build(att, "0.3.1")
    assert old["ips"][0]["version"] == "4"


def test_libnet_errors_map_to_the_specs_codes() -> None:
    assert translate(StoreBusyError("busy")).code == 11
    assert translate(UnknownDriverError("no driver")).code == 7
    error = translate(PoolExhaustedError("full"))
    assert error.code == 100 and error.details == "PoolExhaustedError"


def test_version_needs_no_configuration() -> None:
    result, _ = run({"CNI_COMMAND": "VERSION"}, b"")
    assert result is not None and "1.0.0" in result["supportedVersions"]


def test_an_unknown_command_is_error_4() -> None:
    with pytest.raises(CniError) as info:
        run({"CNI_COMMAND": "ATTACH"}, json.dumps(base()).encode())
    assert info.value.code == 4


def test_the_command_prints_only_json_on_stdout() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "libnet.cni._main"],
        input=b"{broken",
        env={"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"},
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1
    reply = json.loads(proc.stdout)
    assert reply["code"] == 6 and reply["cniVersion"]
    assert b"libnet-cni" in proc.stderr
