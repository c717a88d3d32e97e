"""Reading the assignments file: what it means, and every mistake named clearly."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from libnet_static_ipam import FILE_ENV, Table, TableError, load_table, parse_table, table_path

WEB_MAC = "02:42:0a:09:00:0a"
DB_MAC = "02:42:0a:09:00:0b"


def test_the_example_file_is_read_in_order(table: Table) -> None:
    assert [str(p.pool) for p in table.pools] == ["10.9.0.0/24", "10.9.1.0/29", "fd00:9::/64"]
    first = table.pools[0]
    assert str(first.gateway) == "10.9.0.1"
    assert str(first.ip_range) == "10.9.0.128/25"
    # MAC addresses are normalised: lower case, colons.
    assert {mac: str(ip) for mac, ip in first.assignments.items()} == {
        WEB_MAC: "10.9.0.10",
        DB_MAC: "10.9.0.11",
    }
    assert first.owner_of(ipaddress.ip_address("10.9.0.11")) == DB_MAC
    assert first.reserved() == {1, 10, 11}
    assert table.pools[1].gateway is None and dict(table.pools[1].assignments) == {}
    assert table.pools[2].v6


def test_a_mac_with_dashes_is_accepted() -> None:
    table = parse_table(
        {"pools": {"10.9.0.0/24": {"assignments": {"02-42-0A-09-00-0A": "10.9.0.5"}}}}
    )
    assert list(table.pools[0].assignments) == [WEB_MAC]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], 'one key, "pools"'),
        ({"pools": {}, "extra": 1}, 'one key, "pools"'),
        ({"pools": {}}, "non-empty object"),
        ({"pools": {"10.9.0.0": {}}}, "'10.9.0.0' is not a network"),
        ({"pools": {"10.9.0.1/24": {}}}, "did you mean 10.9.0.0/24?"),
        ({"pools": {"10.9.0.0/24": []}}, "must be an object"),
        ({"pools": {"10.9.0.0/24": {"gw": "10.9.0.1"}}}, "unknown keys ['gw']"),
        ({"pools": {"10.9.0.0/24": {"gateway": "10.8.0.1"}}}, "gateway 10.8.0.1 is not an address"),
        ({"pools": {"10.9.0.0/24": {"gateway": "10.9.0.255"}}}, "not an address of the pool"),
        ({"pools": {"10.9.0.0/24": {"gateway": "x"}}}, "gateway 'x' is not an IP address"),
        ({"pools": {"10.9.0.0/24": {"ip_range": "10.8.0.0/25"}}}, "not inside the pool"),
        ({"pools": {"10.9.0.0/24": {"ip_range": "fd00::/64"}}}, "not inside the pool"),
        ({"pools": {"10.9.0.0/24": {"assignments": []}}}, "object of MAC -> address"),
        ({"pools": {"10.9.0.0/24": {"assignments": {"web": "10.9.0.5"}}}}, "'web' is not a MAC"),
        (
            {
                "pools": {
                    "10.9.0.0/24": {
                        "assignments": {WEB_MAC: "10.9.0.5", WEB_MAC.upper(): "10.9.0.6"}
                    }
                }
            },
            "assigned twice",
        ),
        (
            {"pools": {"10.9.0.0/24": {"assignments": {WEB_MAC: "10.9.0.5", DB_MAC: "10.9.0.5"}}}},
            "10.9.0.5 is assigned to both",
        ),
        (
            {
                "pools": {
                    "10.9.0.0/24": {"gateway": "10.9.0.5", "assignments": {WEB_MAC: "10.9.0.5"}}
                }
            },
            "both the gateway and the address of",
        ),
        ({"pools": {"10.9.0.0/24": {"assignments": {WEB_MAC: "fd00::5"}}}}, "not an address of"),
        ({"pools": {"10.9.0.0/24": {}, "10.9.0.128/25": {}}}, "overlap"),
    ],
)
def test_mistakes_are_named(data: Any, fragment: str) -> None:
    with pytest.raises(TableError) as info:
        parse_table(data, "/etc/static.json")
    message = str(info.value)
    assert message.startswith("/etc/static.json"), message
    assert fragment in message


def test_an_unreadable_or_invalid_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TableError, match=r"cannot read the assignments file .*missing\.json"):
        load_table(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{pools")
    with pytest.raises(TableError, match=r"bad\.json is not valid JSON"):
        load_table(tmp_path / "bad.json")


def test_the_file_comes_from_the_configuration_then_the_environment(
    tmp_path: Path, write: Callable[[Path, Any], Path]
) -> None:
    given = write(tmp_path / "a.json", {"pools": {"10.9.0.0/24": {}}})
    assert table_path({"file": str(given)}, {FILE_ENV: "/elsewhere"}) == given
    assert table_path({}, {FILE_ENV: str(given)}) == given
    with pytest.raises(TableError, match=f"ipam_config=.*or \\${FILE_ENV}"):
        table_path({}, {})
    with pytest.raises(TableError, match="unknown configuration keys \\['path'\\]"):
        table_path({"path": "x"}, {})
