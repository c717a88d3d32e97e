"""The conformance suite against drivers broken on purpose, one per rule of the contract.

Each case subclasses the reference driver (which keeps the whole contract), breaks one
thing, runs the suite's test for that rule in a pytest sub-session, and checks that the
test fails with a message saying what the driver did, what the contract asks and which
section of docs/writing-drivers.md explains it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

SUITE_MODULE = """\
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

import libnet
from libnet.errors import ForbiddenError
from libnet.testing import DriverConformance
from reference_driver import ReferenceDriver


class BrokenDriver(ReferenceDriver):
{body}


class TestBroken(DriverConformance):
    network_type = "broken"
{attrs}

    def make_driver(self):
        return BrokenDriver()
"""


@dataclass(frozen=True)
class Broken:
    """A driver broken one way, the suite test that must catch it, and what it must say."""

    name: str
    body: str
    test: str
    expect: tuple[str, ...]
    attrs: str = ""


def _case(name: str, body: str, test: str, *expect: str, attrs: str = "") -> Broken:
    return Broken(name, textwrap.dedent(body), test, expect, textwrap.dedent(attrs))


CASES = [
    _case(
        "lifecycle: leave always fails",
        """
        def leave(self, nid, eid):
            raise RuntimeError("leave is broken")
        """,
        "test_lifecycle_in_order",
        "*driver 'broken' breaks the contract (Lifecycle): step 5 of the lifecycle, leave, "
        "failed: DriverError: *RuntimeError: leave is broken",
        "*The contract: create network, create endpoint, join, leave, delete endpoint, delete "
        "network: each step succeeds after the ones before it did",
        "RuntimeError raised at (most recent call last):",
        "*test_broken.py*, in leave",
        '    raise RuntimeError("leave is broken")',
        "See docs/writing-drivers.md#lifecycle",
    ),
    _case(
        "lifecycle: endpoint_oper_info is not JSON",
        """
        def endpoint_oper_info(self, nid, eid):
            return {"handle": object()}
        """,
        "test_endpoint_oper_info_is_a_json_object",
        "*(Lifecycle): endpoint_oper_info returned {'handle': <object object at *>}, which is "
        "not a JSON object: TypeError*",
        "*See docs/writing-drivers.md#lifecycle",
    ),
    _case(
        "unknown IDs: leave accepts any endpoint",
        """
        def leave(self, nid, eid):
            return None
        """,
        "test_unknown_ids_are_refused[leave-unknown-endpoint]",
        "*(Unknown IDs): leave accepted endpoint ID *, which the driver never created, and "
        "returned None",
        "*See docs/writing-drivers.md#unknown-ids",
    ),
    _case(
        "interface: create_endpoint overwrites the controller's MAC",
        """
        def create_endpoint(self, nid, eid, iface, options):
            with self.lock:
                self.endpoints(nid)[eid] = False
                iface.set_mac_address(self.pick_mac())
        """,
        "test_interface_fields_set_by_the_controller_are_kept[mac_address]",
        "*(The interface contract): create_endpoint tried to overwrite what the controller set "
        "(mac_address=02:42:c0:00:02:63): ValueError: the interface already has MAC address "
        "02:42:c0:00:02:63",
        "*The contract: a driver fills only the InterfaceInfo fields the controller left empty*",
        "*See docs/writing-drivers.md#the-interface-contract",
    ),
    _case(
        "interface: create_endpoint changes an address behind InterfaceInfo's back",
        """
        def create_endpoint(self, nid, eid, iface, options):
            super().create_endpoint(nid, eid, iface, options)
            iface._address = "198.51.100.7/24"
        """,
        "test_interface_fields_set_by_the_controller_are_kept[address]",
        "*(The interface contract): create_endpoint changed what the controller set "
        "(address=*/*) to {'address': '198.51.100.7/24'}",
    ),
    _case(
        "join information: a host-side name too long for Linux",
        """
        def join(self, nid, eid, sandbox_key, jinfo, options):
            super().join(nid, eid, sandbox_key, jinfo, options)
            jinfo.set_names("a-very-long-interface-name", "eth")
        """,
        "test_join_names_are_valid_interface_names",
        "*(Join information): join set * src_name 'a-very-long-interface-name' must have 1 to "
        "15 characters",
        "*See docs/writing-drivers.md#join-information",
    ),
    _case(
        "join information: a gateway the interface cannot reach",
        """
        def join(self, nid, eid, sandbox_key, jinfo, options):
            super().join(nid, eid, sandbox_key, jinfo, options)
            jinfo.set_gateway("192.0.2.1")
        """,
        "test_join_gateways_are_reachable_and_of_the_right_family",
        "*(Join information): * gateway 192.0.2.1 is outside every IPv4 subnet of the "
        "interface (*) and no connected static route covers it",
    ),
    _case(
        "join information: two routes to one destination",
        """
        def join(self, nid, eid, sandbox_key, jinfo, options):
            super().join(nid, eid, sandbox_key, jinfo, options)
            jinfo.add_static_route("10.1.0.0/16", 1)
            jinfo.add_static_route("10.1.0.0/16", 1)
        """,
        "test_join_static_routes_can_be_applied",
        "*(Join information): * two static routes go to 10.1.0.0/16; the sandbox can hold only one",
    ),
    _case(
        "join information: one host-side name for every endpoint",
        """
        def join(self, nid, eid, sandbox_key, jinfo, options):
            super().join(nid, eid, sandbox_key, jinfo, options)
            jinfo.set_names("veth-ref", "eth")
        """,
        "test_join_host_side_names_are_unique",
        "*(Join information): join named the host-side interface 'veth-ref' for two endpoints "
        "joined at once",
    ),
    _case(
        "failed join: leave fails when the controller undoes a join",
        """
        def leave(self, nid, eid):
            raise RuntimeError("leave is broken")
        """,
        "test_failed_join_is_undone_with_leave",
        "*(Leave after a failed join): the controller undid a join that failed after the "
        "driver's join, and undoing it failed: rollback of join of endpoint * failed: "
        "RuntimeError: leave is broken",
        "*See docs/writing-drivers.md#leave-after-a-failed-join",
    ),
    _case(
        "failed join: leave forgets to clear the join",
        """
        def leave(self, nid, eid):
            with self.lock:
                self.check(nid, eid)
        """,
        "test_join_works_again_after_a_failed_join",
        "*(Leave after a failed join): after a failed join, joining again failed: "
        "EndpointInSandboxError: endpoint * is joined",
    ),
    _case(
        "deleting: endpoints must go newest first",
        """
        def delete_endpoint(self, nid, eid):
            with self.lock:
                endpoints = self.check(nid, eid)
                if eid != list(endpoints)[-1]:
                    raise ForbiddenError("delete the newest endpoint first")
                del endpoints[eid]
        """,
        "test_delete_in_any_order_the_controller_allows[delete-endpoints-oldest-first]",
        "*(Deleting): deleting as delete-endpoints-oldest-first: delete_endpoint failed: "
        "ForbiddenError: delete the newest endpoint first",
        "*See docs/writing-drivers.md#deleting",
    ),
    _case(
        "several networks: deleting one wipes every network's endpoints",
        """
        def delete_network(self, nid):
            with self.lock:
                self.endpoints(nid)
                self.networks = {k: {} for k in self.networks if k != nid}
        """,
        "test_deleting_one_network_leaves_the_other_working",
        "*(Several networks): after the first network was deleted, endpoint_oper_info on the "
        "second failed: EndpointNotFoundError: no endpoint *",
        "*See docs/writing-drivers.md#several-networks",
    ),
    _case(
        "several networks: a second network refused with the wrong error",
        """
        def create_network(self, nid, options, ipv4_data, ipv6_data):
            if self.networks:
                raise RuntimeError("one network is enough")
            super().create_network(nid, options, ipv4_data, ipv6_data)
        """,
        "test_two_networks_at_once",
        "*(Several networks): creating a second network while the first exists failed: "
        "DriverError: *RuntimeError: one network is enough",
    ),
    _case(
        "concurrency: MACs picked without a lock",
        """
        def create_endpoint(self, nid, eid, iface, options):
            n = self.next_mac
            time.sleep(0.002)
            self.next_mac = n + 1
            iface.set_mac_address(f"02:52:00:00:00:{n % 256:02x}")
            with self.lock:
                self.endpoints(nid)[eid] = False
        """,
        "test_concurrently_created_endpoints_get_distinct_interfaces",
        "*(Concurrency): create_endpoint gave mac_address 02:52:00:00:00:* to * endpoints "
        "created at once *",
        "*See docs/writing-drivers.md#concurrency",
    ),
    _case(
        "capability: declares one network at most but takes more",
        "pass",
        "test_declared_network_limit_is_enforced",
        "*(Capability): the test class declares max_networks = 1 but the driver accepted network 2",
        "*See docs/writing-drivers.md#capability",
        attrs="max_networks = 1",
    ),
    _case(
        "restore: restore_network learns nothing",
        """
        def restore_network(self, nid, options, ipv4_data, ipv6_data):
            pass
        """,
        "test_restart_then_leave_and_delete",
        "*(Restore after a restart): after a restart, endpoint_oper_info of a joined endpoint "
        "failed: NetworkNotFoundError: no network *",
        "*See docs/writing-drivers.md#restore-after-a-restart",
    ),
    _case(
        "restore: restore_endpoint sets another MAC",
        """
        def restore_endpoint(self, nid, eid, iface, options):
            with self.lock:
                self.endpoints(nid)[eid] = False
                self.next_mac += 7  # not the MAC the endpoint was created with
                iface.set_mac_address(self.pick_mac())
        """,
        "test_restart_keeps_interface_fields",
        "*(Restore after a restart): after a restart, restore_endpoint failed for an endpoint "
        "whose interface is {'mac_address': '02:52:00:00:00:01', *}: DriverError: *ValueError: "
        "the interface already has MAC address 02:52:00:00:00:01",
    ),
]


@pytest.fixture
def suite(pytester: pytest.Pytester, reference_source: str) -> pytest.Pytester:
    pytester.makepyfile(reference_driver=reference_source)
    return pytester


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_suite_catches_a_driver_that_breaks_one_rule(
    suite: pytest.Pytester, case: Broken
) -> None:
    body = textwrap.indent(case.body.strip(), "    ")
    attrs = textwrap.indent(case.attrs, "    ")
    suite.makepyfile(test_broken=SUITE_MODULE.format(body=body, attrs=attrs))
    result = suite.runpytest("-p", "libnet.testing", f"test_broken.py::TestBroken::{case.test}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(list(case.expect))


def test_a_driver_raising_the_wrong_kind_of_error_for_an_unknown_id_gets_a_warning(
    suite: pytest.Pytester,
) -> None:
    body = """
    def leave(self, nid, eid):
        if eid not in self.networks.get(nid, {}):
            raise KeyError(eid)
    """
    suite.makepyfile(
        test_broken=SUITE_MODULE.format(
            body=textwrap.indent(textwrap.dedent(body), "    "), attrs=""
        )
    )
    result = suite.runpytest(
        "-p", "libnet.testing", "test_broken.py::TestBroken::test_unknown_ids_are_refused"
    )
    result.assert_outcomes(passed=7, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*ConformanceWarning: driver 'broken' breaks the contract (Unknown IDs): leave for an "
            "unknown endpoint raised KeyError: *",
        ]
    )


def test_a_plugin_sharing_one_driver_object_between_controllers_fails_the_restart_test(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_shared="""
        import pytest

        from libnet.testing import DriverConformance
        from reference_driver import ReferenceDriver


        class TestShared(DriverConformance):
            network_type = "shared"

            @pytest.fixture(autouse=True)
            def _installed(self, install_plugin):
                install_plugin(ReferenceDriver(), "shared")
        """
    )
    result = suite.runpytest(
        "-p",
        "libnet.testing",
        "test_shared.py::TestShared::test_restart_gives_a_new_driver_instance",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*driver 'shared' breaks the contract (The hook): libnet_driver_init registered the "
            "same driver object for two controllers",
            "*See docs/writing-drivers.md#the-hook",
        ]
    )


def test_make_driver_returning_one_object_twice_is_reported_as_a_test_mistake(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_same="""
        from libnet.testing import DriverConformance
        from reference_driver import ReferenceDriver

        SHARED = ReferenceDriver()


        class TestSame(DriverConformance):
            def make_driver(self):
                return SHARED
        """
    )
    result = suite.runpytest("test_same.py::TestSame::test_restart_gives_a_new_driver_instance")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*(Testing with the kit): make_driver() returned the same object twice",
            "*See docs/writing-drivers.md#testing-with-the-kit",
        ]
    )


def test_a_class_naming_no_driver_explains_how_to_name_one(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_nothing="""
        from libnet.testing import DriverConformance

        class TestNothing(DriverConformance):
            pass
        """
    )
    result = suite.runpytest("test_nothing.py::TestNothing::test_lifecycle_in_order")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*TestNothing names no driver: set network_type, override make_driver(), or run with "
            "--libnet-driver NAME*"
        ]
    )


@pytest.mark.parametrize("how", ["make_driver", "entry point"])
def test_the_reference_driver_passes_the_whole_suite(suite: pytest.Pytester, how: str) -> None:
    if how == "make_driver":
        extra = "    def make_driver(self):\n        return ReferenceDriver()\n"
    else:
        extra = (
            "    @pytest.fixture(autouse=True)\n"
            "    def _installed(self, install_plugin):\n"
            "        install_plugin(ReferenceDriver, 'reference')\n"
        )
    suite.makepyfile(
        test_reference=(
            "import pytest\n\n"
            "from libnet.testing import DriverConformance\n"
            "from reference_driver import ReferenceDriver\n\n\n"
            "class TestReference(DriverConformance):\n"
            "    network_type = 'reference'\n\n" + extra
        )
    )
    result = suite.runpytest("-p", "libnet.testing", "-W", "error::UserWarning")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 35
    assert outcomes.get("skipped") == 1  # the network limit, which it does not declare
