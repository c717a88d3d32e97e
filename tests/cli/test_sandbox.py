"""``libnet sandbox``: container sandboxes, found by container ID, sandbox ID or prefix."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from .conftest import Libnet

pytestmark = pytest.mark.slow

SANDBOX_FIELDS = {  # at least these: inspect may add more
    "id",
    "container_id",
    "key",
    "created",
    "endpoints",
}


def test_sandbox_create_ls_inspect_rm(libnet: Libnet) -> None:
    (sid,) = libnet("sandbox", "create", "c1", "--key", "/proc/self/ns/net").lines()
    assert len(sid) == 64
    (sid2,) = libnet("sandbox", "create", "c2").lines()

    assert [line.split() for line in libnet("sandbox", "ls").lines()] == [
        ["SANDBOX", "ID", "CONTAINER", "ID", "KEY", "ENDPOINTS"],
        [sid[:12], "c1", "/proc/self/ns/net", "0"],
        [sid2[:12], "c2", "-", "0"],
    ]

    boxes = libnet("sandbox", "inspect", "--json", "c1", sid, sid[:5]).json()
    assert all(set(b) >= SANDBOX_FIELDS for b in boxes)
    assert {(b["id"], b["container_id"], b["key"]) for b in boxes} == {
        (sid, "c1", "/proc/self/ns/net")
    }

    assert libnet("sandbox", "rm", sid[:7], "c2").lines() == ["c1", "c2"]
    assert libnet("sandbox", "ls", "--json").json() == []


def test_sandbox_rm_makes_joined_endpoints_leave(libnet: Libnet) -> None:
    with libnet.api() as controller:
        endpoint = controller.new_network("null", "none").create_endpoint("ep1")
        endpoint.join(controller.new_sandbox("c1"))

    assert libnet("sandbox", "rm", "c1").lines() == ["c1"]
    (ep,) = libnet("endpoint", "inspect", "none", "ep1").json()
    assert ep["sandbox"] is None


def test_sandbox_key_that_does_not_exist_is_refused(libnet: Libnet, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-netns")
    libnet("sandbox", "create", "c1", "--key", missing).error(f"sandbox key {missing!r}")


def test_second_sandbox_for_a_container_is_refused(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_sandbox("c1")
    libnet("sandbox", "create", "c1").error("container 'c1' already has sandbox")


def test_sandbox_rm_goes_on_after_an_error_and_exits_1(libnet: Libnet) -> None:
    with libnet.api() as controller:
        controller.new_sandbox("c1")
    result = libnet("sandbox", "rm", "missing", "c1")
    assert result.stdout == "c1\n"
    result.error("sandbox 'missing' not found")


def _sandboxes_sharing_a_prefix(libnet: Libnet) -> str:
    """Make 17 sandboxes: two IDs must share their first hex digit. Return that digit."""
    with libnet.api() as controller:
        ids = sorted(controller.new_sandbox(f"c{i}").id for i in range(17))
    return next(a[0] for a, b in itertools.pairwise(ids) if a[0] == b[0])


def test_ambiguous_sandbox_id_prefix_is_an_error(libnet: Libnet) -> None:
    prefix = _sandboxes_sharing_a_prefix(libnet)
    result = libnet("sandbox", "inspect", prefix)
    result.error(f"sandbox ID prefix {prefix!r} matches")
    assert result.stdout.strip() == "[]"
