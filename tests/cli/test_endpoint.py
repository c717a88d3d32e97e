"""``libnet endpoint``: endpoints on null and host networks, joined to sandboxes."""

from __future__ import annotations

import pytest

from .conftest import Libnet

pytestmark = pytest.mark.slow

ENDPOINT_FIELDS = {  # at least these: inspect may add more
    "id",
    "name",
    "network",
    "mac_address",
    "address",
    "address_ipv6",
    "sandbox",
    "src_name",
    "dst_prefix",
    "dst_name",
    "gateway",
    "gateway_ipv6",
    "static_routes",
    "disable_gateway_service",
    "options",
}


@pytest.fixture
def network_id(libnet: Libnet) -> str:
    """A null network named ``none``."""
    with libnet.api() as controller:
        return controller.new_network("null", "none").id


def test_endpoint_create_ls_inspect_rm(libnet: Libnet, network_id: str) -> None:
    (eid,) = libnet("endpoint", "create", "none", "ep1", "-o", "k=v").lines()
    assert len(eid) == 64

    header, row = libnet("endpoint", "ls", "none").lines()
    assert header.split() == ["ENDPOINT", "ID", "NAME", "NETWORK", "SANDBOX"]
    assert row.split() == [eid[:12], "ep1", "none", "-"]

    (ep,) = libnet("endpoint", "inspect", network_id[:6], eid[:6], "--json").json()
    assert set(ep) >= ENDPOINT_FIELDS
    assert (ep["id"], ep["name"], ep["network"], ep["sandbox"]) == (eid, "ep1", network_id, None)
    assert ep["options"] == {"k": "v"}

    assert libnet("endpoint", "rm", "none", "ep1").lines() == ["ep1"]
    assert libnet("endpoint", "ls", "--json").json() == []


def test_endpoint_ls_without_network_lists_every_network(libnet: Libnet, network_id: str) -> None:
    libnet("network", "create", "-d", "host", "hostnet").ok()
    libnet("endpoint", "create", "hostnet", "ep2").ok()
    with libnet.api() as controller:
        controller.network("none").create_endpoint("ep1")

    eps = libnet("endpoint", "ls", "--json").json()
    assert [(e["name"], set(e) >= ENDPOINT_FIELDS) for e in eps] == [("ep2", True), ("ep1", True)]
    assert [line.split()[1:3] for line in libnet("endpoint", "ls").lines()[1:]] == [
        ["ep2", "hostnet"],
        ["ep1", "none"],
    ]


def test_endpoint_join_and_leave_a_sandbox(libnet: Libnet, network_id: str) -> None:
    with libnet.api() as controller:
        eid = controller.network("none").create_endpoint("ep1").id
        sid = controller.new_sandbox("c1").id

    assert libnet("endpoint", "join", "none", "ep1", "c1").lines() == []
    (ep,) = libnet("endpoint", "inspect", "none", "ep1").json()
    assert ep["sandbox"] == sid
    (box,) = libnet("sandbox", "inspect", sid[:8]).json()
    assert box["endpoints"] == [{"network": network_id, "endpoint": eid}]
    assert libnet("endpoint", "ls").lines()[1].split()[-1] == sid[:12]

    libnet("endpoint", "join", "none", "ep1", "c1").error("already joined", sid[:12])

    assert libnet("endpoint", "leave", "none", "ep1", sid).lines() == []
    (ep,) = libnet("endpoint", "inspect", "none", "ep1").json()
    assert ep["sandbox"] is None
    libnet("endpoint", "leave", "none", "ep1", "c1").error("is not joined to sandbox")


def test_rm_of_joined_endpoint_needs_force(libnet: Libnet, network_id: str) -> None:
    with libnet.api() as controller:
        controller.network("none").create_endpoint("ep1").join(controller.new_sandbox("c1"))

    libnet("endpoint", "rm", "none", "ep1").error("endpoint 'ep1'", "is joined to sandbox")
    assert libnet("endpoint", "rm", "--force", "none", "ep1").lines() == ["ep1"]
    assert libnet("sandbox", "inspect", "c1").json()[0]["endpoints"] == []


def test_duplicate_endpoint_name_is_refused(libnet: Libnet, network_id: str) -> None:
    with libnet.api() as controller:
        controller.network("none").create_endpoint("ep1")
    libnet("endpoint", "create", "none", "ep1").error("endpoint 'ep1' already exists")


def test_endpoint_on_missing_network_is_an_error(libnet: Libnet) -> None:
    libnet("endpoint", "create", "missing", "ep1").error("network 'missing' not found")


def test_missing_endpoint_is_reported_with_its_network(libnet: Libnet, network_id: str) -> None:
    result = libnet("endpoint", "inspect", "none", "nope")
    result.error("endpoint 'nope' not found on network 'none'")
    assert result.stdout.strip() == "[]"


def test_endpoint_option_that_is_not_key_value_is_a_usage_error(libnet: Libnet) -> None:
    libnet("endpoint", "create", "none", "ep1", "-o", "novalue").usage_error(
        "-o/--opt", "'novalue'"
    )
