"""Shared fixtures: an assignments file and the table read from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from libnet_static_ipam import FILE_ENV, Table, load_table

WEB_MAC = "02:42:0a:09:00:0a"  # the test modules repeat these two
DB_MAC = "02:42:0a:09:00:0b"

ASSIGNMENTS: dict[str, Any] = {
    "pools": {
        "10.9.0.0/24": {
            "gateway": "10.9.0.1",
            "ip_range": "10.9.0.128/25",
            "assignments": {WEB_MAC: "10.9.0.10", DB_MAC.upper(): "10.9.0.11"},
        },
        "10.9.1.0/29": {},
        "fd00:9::/64": {"assignments": {WEB_MAC: "fd00:9::10"}},
    }
}
"""The example file: an IPv4 pool with a gateway, an ip-range and two assignments, a small
IPv4 pool with nothing, and an IPv6 pool with one assignment."""


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def write() -> Callable[[Path, Any], Path]:
    """Write data as JSON to a path; return the path."""
    return _write


@pytest.fixture
def assignments_file(tmp_path: Path) -> Path:
    """The example file (:data:`ASSIGNMENTS`)."""
    return _write(tmp_path / "assignments.json", ASSIGNMENTS)


@pytest.fixture
def table(assignments_file: Path) -> Table:
    return load_table(assignments_file)


@pytest.fixture(autouse=True)
def _no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the caller's assignments file."""
    monkeypatch.delenv(FILE_ENV, raising=False)
