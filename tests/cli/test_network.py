"""``libnet network``: each command runs in its own process on a shared state directory."""

from __future__ import annotations

import json

import pytest
from _drivers import LOCAL, RecordingDriver

from .conftest import Libnet

pytestmark = pytest.mark.slow

NETWORK_FIELDS = {  # at least these: inspect may add more
    "id",
    "name",
    "driver",
    "scope",
    "status",
    "created",
    "internal",
    "enable_ipv6",
    "options",
    "labels",
    "endpoints",
}


def test_network_round_trip_across_processes(libnet: Libnet) -> None:
    (nid,) = libnet("network", "create", "-d", "null", "none").lines()
    assert len(nid) == 64

    header, row = libnet("network", "ls").lines()
    assert header.split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE", "STATUS"]
    assert row.split() == [nid[:12], "none", "null", "local", "ok"]

    (net,) = libnet("network", "inspect", "none").json()
    assert set(net) >= NETWORK_FIELDS
    assert (net["id"], net["name"], net["driver"], net["endpoints"]) == (nid, "none", "null", {})

    assert libnet("network", "rm", "none").lines() == ["none"]
    assert libnet("network", "ls", "-q").lines() == []
    assert (libnet.state_dir / "state.db").is_file()


def test_network_create_records_options_labels_and_flags(libnet: Libnet) -> None:
    libnet(
        "network", "create", "-d", "host", "-o", "mtu=1500", "--opt", "x=a=b", "-o", "mtu=9000",
        "--label", "team=net", "--label", "empty=", "--internal", "--ipv6", "hostnet",
    ).ok()  # fmt: skip
    (net,) = libnet("network", "inspect", "--json", "hostnet").json()
    assert net["options"] == {"mtu": "9000", "x": "a=b"}
    assert net["labels"] == {"team": "net", "empty": ""}
    assert (net["internal"], net["enable_ipv6"]) == (True, True)


def test_network_ls_json_quiet_and_no_trunc(libnet: Libnet) -> None:
    with libnet.api() as controller:
        null_id = controller.new_network("null", "b-none").id
        host_id = controller.new_network("host", "a-host").id

    nets = libnet("network", "ls", "--json").json()
    assert [n["name"] for n in nets] == ["a-host", "b-none"]
    assert all(set(n) >= NETWORK_FIELDS for n in nets)
    assert [(n["id"], n["driver"], n["status"]) for n in nets] == [
        (host_id, "host", "ok"),
        (null_id, "null", "ok"),
    ]
    assert libnet("network", "ls", "-q").lines() == [host_id[:12], null_id[:12]]
    assert libnet("network", "ls", "-q", "--no-trunc").lines() == [host_id, null_id]


def test_network_ls_refuses_quiet_with_json(libnet: Libnet) -> None:
    libnet("network", "ls", "-q", "--json").usage_error("not allowed with")


def test_network_is_found_by_full_id_and_unique_id_prefix(libnet: Libnet) -> None:
    nid = libnet("network", "create", "-d", "null", "none").lines()[0]
    nets = libnet("network", "inspect", nid, nid[:5]).json()
    assert [n["name"] for n in nets] == ["none", "none"]
    assert libnet("network", "rm", nid[:7]).lines() == ["none"]


def _networks_sharing_a_prefix(libnet: Libnet) -> str:
    """Make a null and a host network whose IDs start alike; return that first digit."""
    with libnet.api() as controller:
        first = controller.new_network("null", "none")
        for _ in range(1000):
            second = controller.new_network("host", "hostnet")
            if first.id[0] == second.id[0]:
                return first.id[0]
            second.delete()
    raise AssertionError("no two network IDs shared a first character in 1000 tries")


def test_ambiguous_network_id_prefix_is_an_error(libnet: Libnet) -> None:
    prefix = _networks_sharing_a_prefix(libnet)
    libnet("network", "inspect", prefix).error(f"prefix {prefix!r} matches 2 networks")
    libnet("network", "rm", prefix).error("matches 2 networks")


def test_duplicate_network_name_is_refused(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "null", "net").ok()
    libnet("network", "create", "-d", "host", "net").error("network 'net' already exists")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "non-empty"),
        ("n" * 65, "65 characters long; the limit is 64"),
        ("my net", "'my net' is not valid"),
        ("-net", "'-net' is not valid"),
    ],
    ids=["empty", "too-long", "space", "leading-dash"],
)
def test_invalid_network_name_is_refused(libnet: Libnet, name: str, fragment: str) -> None:
    libnet("network", "create", "-d", "null", "--", name).error("network name", fragment)


def test_unknown_driver_is_refused_naming_it(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "nosuch", "net").error("'nosuch'", "libnet drivers")


def test_driver_is_required(libnet: Libnet) -> None:
    libnet("network", "create", "net").usage_error("-d/--driver")


@pytest.mark.parametrize(
    ("args", "bad"),
    [
        (["-o", "mtu"], "'mtu'"),
        (["-o", "=1500"], "'=1500'"),
        (["--label", "team"], "'team'"),
    ],
    ids=["opt-no-equals", "opt-empty-key", "label-no-equals"],
)
def test_argument_that_is_not_key_value_is_a_usage_error(
    libnet: Libnet, args: list[str], bad: str
) -> None:
    libnet("network", "create", "-d", "null", *args, "net").usage_error(bad, "KEY=VALUE")
    assert not (libnet.state_dir / "state.db").exists()


def test_rm_force_is_dockers_and_never_removes_endpoints(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "none").create_endpoint("ep1")

    for args in ((), ("-f",), ("--force",)):
        libnet("network", "rm", *args, "none").error(
            "network 'none' has active endpoints (ep1)", "--with-endpoints"
        )
    assert [n["name"] for n in libnet("network", "ls", "--json").json()] == ["none"]
    assert libnet("endpoint", "ls", "-q", "none").lines() != []

    assert libnet("network", "rm", "--with-endpoints", "none").lines() == ["none"]
    assert libnet("network", "ls", "-q").lines() == []


def test_rm_with_endpoints_refuses_joined_ones_unless_asked(libnet: Libnet) -> None:
    with libnet.api() as controller:
        net = controller.new_network("null", "none")
        net.create_endpoint("free")
        net.create_endpoint("busy").join(controller.new_sandbox("c1"))

    libnet("network", "rm", "--with-endpoints", "none").error(
        "network 'none' has endpoints joined to sandboxes (busy)", "--leave-joined"
    )
    assert sorted(e["name"] for e in libnet("endpoint", "ls", "--json").json()) == [
        "busy",
        "free",
    ]
    libnet("network", "rm", "--leave-joined", "none").error(
        "--leave-joined only applies with --with-endpoints"
    )
    assert libnet("network", "rm", "--with-endpoints", "--leave-joined", "none").lines() == ["none"]
    (box,) = libnet("sandbox", "ls", "--json").json()
    assert box["endpoints"] == []


def test_rm_forget_removes_a_network_whose_driver_is_gone(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.register_driver("gone", RecordingDriver(), LOCAL)
        controller.new_network("gone", "orphan")

    libnet("network", "rm", "-f", "orphan").error(
        "no installed driver serves its type 'gone'", "libnet network rm --forget"
    )
    assert libnet("network", "rm", "--forget", "orphan").lines() == ["orphan"]
    assert libnet("network", "ls", "-q").lines() == []


def test_rm_goes_on_after_an_error_and_exits_1(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "none")
        controller.new_network("host", "hostnet")
    result = libnet("network", "rm", "none", "missing", "hostnet")
    assert result.stdout.splitlines() == ["none", "hostnet"]
    result.error("network 'missing' not found")


def test_rm_force_ignores_missing_networks(libnet: Libnet) -> None:
    assert libnet("network", "rm", "-f", "missing").lines() == []


def test_inspect_prints_the_networks_found_and_reports_the_others(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "none")
    result = libnet("network", "inspect", "missing", "none")
    result.error("network 'missing' not found")
    assert [n["name"] for n in json.loads(result.stdout)] == ["none"]


def test_prune_removes_networks_without_endpoints(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "unused")
        controller.new_network("host", "used").create_endpoint("ep1")

    assert libnet("network", "prune", "-f").lines() == ["unused"]
    assert [n["name"] for n in libnet("network", "ls", "--json").json()] == ["used"]


def test_prune_asks_first_and_stops_unless_told_yes(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "unused")

    declined = libnet("network", "prune", input="n\n")
    assert declined.returncode == 1
    assert declined.stdout == ""
    assert "Are you sure you want to continue? [y/N]" in declined.stderr
    assert declined.stderr.splitlines()[-1] == (
        "libnet: error: network prune cancelled; nothing was removed"
    )

    accepted = libnet("network", "prune", input="y\n")
    assert (accepted.returncode, accepted.stdout) == (0, "unused\n")


def test_second_null_network_is_refused_in_another_process(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "null", "none").ok()
    libnet("network", "create", "-d", "null", "none2").error("only one network of type 'null'")
