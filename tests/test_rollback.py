"""All or nothing: a driver failing at any step leaves the controller's state as it was.

Each test runs with the failing driver registered by the application and served by an
entry-point plugin (through the RemoteDriver proxy). The driver is a RecordingDriver: the
tests compare the controller's state before and after and read what the driver saw.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from _dists import FakeDists
from _drivers import LOCAL, RecordingDriver, install_plugin

import libnet
from libnet.errors import DriverError


@dataclass
class Setup:
    c: libnet.Controller
    driver: RecordingDriver

    def state(self) -> dict[str, Any]:
        """Everything the controller reports about its networks and sandboxes."""
        return {
            "networks": [n.to_dict() for n in self.c.networks()],
            "sandboxes": [s.to_dict() for s in self.c.sandboxes()],
        }

    def fail(self, *steps: Any) -> None:
        """Make ``steps`` fail from now on, and forget the calls made so far."""
        self.driver.fail_on = set(steps)
        del self.driver.calls[:]


@pytest.fixture(params=["application", "entry-point"])
def s(request: pytest.FixtureRequest, dists: FakeDists) -> Setup:
    """A controller with network type ``flaky`` served by a RecordingDriver."""
    if request.param == "application":
        c = libnet.Controller(plugins="off")
        driver = RecordingDriver()
        c.register_driver("flaky", driver, LOCAL)
    else:
        module = install_plugin(dists, "libnet-flaky", "flaky")
        c = libnet.Controller(plugins="eager")
        driver = dists.module(module).DRIVERS["flaky"]
    return Setup(c, driver)


def joined(s: Setup) -> tuple[libnet.Network, libnet.Endpoint, libnet.Sandbox]:
    network = s.c.new_network("flaky", "net")
    endpoint = network.create_endpoint("ep")
    sandbox = s.c.new_sandbox("container-1")
    endpoint.join(sandbox)
    return network, endpoint, sandbox


def test_failing_create_network_leaves_no_network(s: Setup) -> None:
    s.fail("create_network")
    with pytest.raises(DriverError, match="create_network") as info:
        s.c.new_network("flaky", "net")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert s.state() == {"networks": [], "sandboxes": []}
    assert (s.driver.methods(), s.driver.networks) == (["create_network"], {})


def test_the_name_of_a_network_that_failed_to_create_is_free(s: Setup) -> None:
    s.fail("create_network")
    with pytest.raises(DriverError):
        s.c.new_network("flaky", "net")
    s.fail()
    assert s.c.new_network("flaky", "net").name == "net"


def test_failing_create_endpoint_leaves_no_endpoint(s: Setup) -> None:
    network = s.c.new_network("flaky", "net")
    before = s.state()
    s.fail("create_endpoint")
    with pytest.raises(DriverError, match="create_endpoint"):
        network.create_endpoint("ep")
    assert s.state() == before
    assert (s.driver.methods(), s.driver.endpoints) == (["create_endpoint"], {})


def test_failing_join_leaves_the_endpoint_unjoined(s: Setup) -> None:
    endpoint = s.c.new_network("flaky", "net").create_endpoint("ep")
    sandbox = s.c.new_sandbox("container-1")
    before = s.state()
    s.fail("join")
    with pytest.raises(DriverError, match="join"):
        endpoint.join(sandbox)
    assert s.state() == before
    assert (s.driver.methods(), s.driver.joined) == (["join"], set())


def test_failing_external_connectivity_after_a_join_makes_the_driver_leave(s: Setup) -> None:
    endpoint = s.c.new_network("flaky", "net").create_endpoint("ep")
    sandbox = s.c.new_sandbox("container-1")
    before = s.state()
    s.fail("program_external_connectivity")
    with pytest.raises(DriverError, match="program_external_connectivity"):
        endpoint.join(sandbox)
    assert s.state() == before
    assert s.driver.methods() == ["join", "program_external_connectivity", "leave"]
    assert (s.driver.joined, s.driver.programmed) == (set(), set())


def test_a_join_the_controller_cannot_apply_makes_the_driver_leave(s: Setup) -> None:
    network = s.c.new_network("flaky", "net")
    first, second = network.create_endpoint("first"), network.create_endpoint("second")
    sandbox = s.c.new_sandbox("container-1")
    first.join(sandbox, options={"dst_name": "eth0"})
    before = s.state()
    s.fail()
    with pytest.raises(DriverError, match=r"'eth0'.* already uses"):
        second.join(sandbox, options={"dst_name": "eth0"})
    assert s.state() == before
    assert s.driver.methods() == ["join", "leave"]
    assert s.driver.joined == {first.id}


def test_a_failing_undo_is_logged_and_the_original_error_raised(
    s: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = s.c.new_network("flaky", "net").create_endpoint("ep")
    sandbox = s.c.new_sandbox("container-1")
    before = s.state()
    s.fail("program_external_connectivity", "leave")
    with (
        caplog.at_level(logging.WARNING, logger="libnet"),
        pytest.raises(DriverError, match="program_external_connectivity"),
    ):
        endpoint.join(sandbox)
    assert s.state() == before
    assert any("rollback of join of endpoint 'ep'" in r.getMessage() for r in caplog.records)


def test_a_failing_undo_is_one_line_unless_debugging(
    s: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = s.c.new_network("flaky", "net").create_endpoint("ep")
    sandbox = s.c.new_sandbox("container-1")
    s.fail("program_external_connectivity", "leave")
    with caplog.at_level(logging.WARNING, logger="libnet"), pytest.raises(DriverError):
        endpoint.join(sandbox)
    (warning,) = [r for r in caplog.records if "rollback" in r.getMessage()]
    assert "leave failed on purpose" in warning.getMessage()
    assert warning.exc_info is None and "\n" not in warning.getMessage()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="libnet"), pytest.raises(DriverError):
        endpoint.join(sandbox)
    assert any(r.exc_info for r in caplog.records if "rollback" in r.getMessage())


class _Exits(RecordingDriver):
    """Calls ``sys.exit`` where a driver should raise."""

    def create_network(self, nid: str, *args: Any) -> None:
        raise SystemExit(3)

    def create_endpoint(self, nid: str, eid: str, *args: Any) -> None:
        raise KeyboardInterrupt


def test_a_driver_calling_exit_is_a_driver_error_and_an_interrupt_still_interrupts() -> None:
    c = libnet.Controller(plugins="off")
    c.register_driver("exits", _Exits(), LOCAL)
    with pytest.raises(DriverError, match="SystemExit: 3"):
        c.new_network("exits", "n1")
    assert c.networks() == []
    c.register_driver("fine", RecordingDriver(), LOCAL)
    network = c.new_network("fine", "n2")
    c.resolve_driver("fine").driver.create_endpoint = _Exits().create_endpoint
    with pytest.raises(KeyboardInterrupt):
        network.create_endpoint("e1")
    assert network.endpoints() == []


def test_failing_leave_keeps_the_endpoint_joined_and_programs_connectivity_again(
    s: Setup,
) -> None:
    _, endpoint, sandbox = joined(s)
    before = s.state()
    s.fail("leave")
    with pytest.raises(DriverError, match="leave"):
        endpoint.leave(sandbox)
    assert s.state() == before
    assert s.driver.methods() == [
        "revoke_external_connectivity",
        "leave",
        "program_external_connectivity",
    ]
    assert (s.driver.joined, s.driver.programmed) == ({endpoint.id}, {endpoint.id})


def test_the_connectivity_programmed_again_gets_the_join_options(s: Setup) -> None:
    network = s.c.new_network("flaky", "net")
    endpoint = network.create_endpoint("ep")
    sandbox = s.c.new_sandbox("container-1")
    endpoint.join(sandbox, options={"ports": [80]})
    s.fail("leave")
    with pytest.raises(DriverError):
        endpoint.leave(sandbox)
    assert s.driver.calls[-1] == (
        "program_external_connectivity",
        network.id,
        endpoint.id,
        {"ports": [80]},
    )


def test_failing_revoke_keeps_the_endpoint_joined(s: Setup) -> None:
    _, endpoint, sandbox = joined(s)
    before = s.state()
    s.fail("revoke_external_connectivity")
    with pytest.raises(DriverError, match="revoke_external_connectivity"):
        endpoint.leave(sandbox)
    assert s.state() == before
    assert s.driver.methods() == ["revoke_external_connectivity"]
    assert s.driver.joined == {endpoint.id}


def test_failing_delete_endpoint_leaves_it_in_place(s: Setup) -> None:
    network = s.c.new_network("flaky", "net")
    endpoint = network.create_endpoint("ep")
    before = s.state()
    s.fail("delete_endpoint")
    with pytest.raises(DriverError, match="delete_endpoint"):
        endpoint.delete()
    assert s.state() == before
    assert s.driver.methods() == ["delete_endpoint"]
    assert list(s.driver.endpoints) == [endpoint.id]


def test_failing_delete_endpoint_with_force_leaves_it_joined(s: Setup) -> None:
    _, endpoint, _ = joined(s)
    before = s.state()
    s.fail("delete_endpoint")
    with pytest.raises(DriverError, match="delete_endpoint"):
        endpoint.delete(force=True)
    assert s.state() == before
    assert (s.driver.joined, s.driver.programmed) == ({endpoint.id}, {endpoint.id})


def test_failing_delete_network_leaves_it_in_place(s: Setup) -> None:
    network = s.c.new_network("flaky", "net")
    before = s.state()
    s.fail("delete_network")
    with pytest.raises(DriverError, match="delete_network"):
        network.delete()
    assert s.state() == before
    assert s.driver.methods() == ["delete_network"]
    assert list(s.driver.networks) == [network.id]


def test_deleting_a_sandbox_whose_second_leave_fails_rejoins_the_first(s: Setup) -> None:
    network = s.c.new_network("flaky", "net")
    older, newer = network.create_endpoint("older"), network.create_endpoint("newer")
    sandbox = s.c.new_sandbox("container-1")
    older.join(sandbox)
    newer.join(sandbox)
    before = s.state()
    s.fail(("leave", older.id))
    with pytest.raises(DriverError, match="leave"):
        sandbox.delete()
    assert s.state() == before
    assert [(call[0], call[2]) for call in s.driver.calls] == [
        ("revoke_external_connectivity", newer.id),
        ("leave", newer.id),
        ("revoke_external_connectivity", older.id),
        ("leave", older.id),
        ("program_external_connectivity", older.id),
        ("join", newer.id),
        ("program_external_connectivity", newer.id),
    ]
    assert s.driver.joined == s.driver.programmed == {older.id, newer.id}


def test_after_a_rollback_the_same_operation_succeeds(s: Setup) -> None:
    _, endpoint, sandbox = joined(s)
    s.fail("leave")
    with pytest.raises(DriverError):
        endpoint.leave(sandbox)
    s.fail()
    endpoint.leave(sandbox)
    assert endpoint.sandbox_id is None
    assert s.driver.joined == set()
