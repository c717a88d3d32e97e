"""libnet.portmap: publish specs, Docker's wire form of port bindings, and clashes."""

from __future__ import annotations

import pytest

from libnet import PortBinding
from libnet._publish import publish_options
from libnet.errors import InvalidOptionError
from libnet.portmap import from_wire, parse_publish, to_wire


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", PortBinding(80)),
        ("8080:80", PortBinding(80, 8080)),
        ("0:80/udp", PortBinding(80, 0, "udp")),
        ("192.0.2.1:8080:80/UDP", PortBinding(80, 8080, "udp", "192.0.2.1")),
        ("192.0.2.1::80", PortBinding(80, 0, "tcp", "192.0.2.1")),
        ("[2001:db8::1]:8080:80", PortBinding(80, 8080, "tcp", "2001:db8::1")),
        ("[2001:db8::1]::80/sctp", PortBinding(80, 0, "sctp", "2001:db8::1")),
        ("8000-8010:80", PortBinding(80, 8000, "tcp", "", 8010)),
    ],
)
def test_specs_read_as_docker_reads_them(spec: str, expected: PortBinding) -> None:
    assert parse_publish(spec) == expected


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("80:http", "not understood"),
        ("1:2:3:4", "not understood"),
        ("[::1]80", "not understood"),
        ("99999:80", "host port 99999"),
        ("8080:0", "container port 0"),
        ("80/icmp", "'icmp' is not one of tcp, udp, sctp"),
        ("8010-8000:80", "ends before it starts"),
        ("nothost:8080:80", "host IP 'nothost' is not an IP address"),
        ("300.1.1.1:8080:80", "is not an IP address"),
    ],
)
def test_a_bad_spec_says_what_is_wrong_and_what_to_write(spec: str, why: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        parse_publish(spec)
    assert why in str(info.value) and "write [HOST_IP:]HOST_PORT:CONTAINER_PORT" in str(info.value)


def test_the_wire_form_is_dockers_and_reads_back() -> None:
    bindings = [
        PortBinding(80, 8080),
        PortBinding(53, 0, "udp", "192.0.2.1", container_ip="10.0.0.2"),
    ]
    wire = to_wire(bindings)
    assert wire[1] == {
        "Proto": 17,
        "IP": "10.0.0.2",
        "Port": 53,
        "HostIP": "192.0.2.1",
        "HostPort": 0,
        "HostPortEnd": 0,
    }
    assert from_wire(wire) == bindings
    # Go's JSON: keys in any case, null addresses, absent fields.
    assert from_wire([{"proto": 6, "port": 80, "HostIP": None}]) == [PortBinding(80)]
    assert from_wire(None) == []
    with pytest.raises(InvalidOptionError, match="protocol 1 is not TCP"):
        from_wire([{"Proto": 1, "Port": 80}])
    with pytest.raises(InvalidOptionError, match="must be a list"):
        from_wire({"Port": 80})


def test_clashes_need_the_same_protocol_port_and_an_overlapping_address() -> None:
    any_host = PortBinding(80, 8080)
    assert any_host.clashes(PortBinding(81, 8080))
    assert any_host.clashes(PortBinding(81, 8080, host_ip="192.0.2.1"))
    assert any_host.clashes(PortBinding(81, 8080, host_ip="::"))
    assert not any_host.clashes(PortBinding(80, 8080, "udp"))
    assert not any_host.clashes(PortBinding(80, 8081))
    one = PortBinding(80, 8080, host_ip="192.0.2.1")
    assert not one.clashes(PortBinding(80, 8080, host_ip="192.0.2.2"))
    assert not one.clashes(PortBinding(80, 8080, host_ip="::"))
    assert one.clashes(PortBinding(80, 8080, host_ip="0.0.0.0"))
    assert PortBinding(80, 8000, host_port_end=8010).clashes(PortBinding(80, 8005))
    assert not PortBinding(80).clashes(PortBinding(80))  # ephemeral ports are picked apart


def test_publish_options_carry_portmap_and_exposed_ports() -> None:
    options = publish_options({}, ["8080:80", PortBinding(80, 8081), "53/udp"])
    assert [b.host_port for b in from_wire(options["com.docker.network.portmap"])] == [
        8080,
        8081,
        0,
    ]
    assert options["com.docker.network.endpoint.exposedports"] == [
        {"Proto": 6, "Port": 80},
        {"Proto": 17, "Port": 53},
    ]
    assert publish_options({"a": 1}, ()) == {"a": 1}
    assert publish_options({}, "8080:80") == publish_options({}, ["8080:80"])  # one spec
    with pytest.raises(InvalidOptionError, match="use one"):
        publish_options({"com.docker.network.portmap": []}, ["80"])
    with pytest.raises(InvalidOptionError, match=r"neither a string nor a libnet\.PortBinding"):
        publish_options({}, [8080])  # type: ignore[list-item]
