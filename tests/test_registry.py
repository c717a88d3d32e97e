"""DriverRegistry: what it accepts, what it refuses, and that it is safe between threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from _drivers import LOCAL, RecordingDriver

import libnet
from libnet.controller import BUILTIN_DRIVERS
from libnet.errors import DriverRegistrationError
from libnet.registry import DriverOrigin, DriverRegistry

APPLICATION = DriverOrigin("application")
ENTRYPOINT = DriverOrigin("entrypoint", "vlan", "libnet-vlan", "1.0")


@pytest.fixture
def registry() -> DriverRegistry:
    return DriverRegistry(BUILTIN_DRIVERS)


@pytest.mark.parametrize(
    "name", ["a", "7", "vlan", "0net", "my-driver", "my_driver", "v1.2", "a" * 64]
)
def test_valid_driver_names_are_accepted(registry: DriverRegistry, name: str) -> None:
    registry.add(name, RecordingDriver(), LOCAL, APPLICATION)
    assert registry.get(name) is not None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("Vlan", id="upper-case"),
        pytest.param("-vlan", id="starts-with-dash"),
        pytest.param(".vlan", id="starts-with-dot"),
        pytest.param("_vlan", id="starts-with-underscore"),
        pytest.param("my vlan", id="space"),
        pytest.param("my/vlan", id="slash"),
        pytest.param("vlan:1", id="colon"),
        pytest.param("vlän", id="non-ascii"),
        pytest.param("vlan\n", id="trailing-newline"),
        pytest.param("a" * 65, id="65-chars"),
        pytest.param(None, id="none"),
        pytest.param(7, id="not-a-string"),
    ],
)
def test_invalid_driver_names_are_refused(registry: DriverRegistry, name: Any) -> None:
    with pytest.raises(DriverRegistrationError, match="driver name"):
        registry.add(name, RecordingDriver(), LOCAL, APPLICATION)
    assert registry.all() == []


def test_missing_required_methods_are_named_in_the_error(registry: DriverRegistry) -> None:
    class Partial(RecordingDriver):
        join = libnet.Driver.join
        leave = libnet.Driver.leave

    with pytest.raises(DriverRegistrationError) as info:
        registry.add("partial", Partial(), LOCAL, APPLICATION)
    assert "Partial" in str(info.value)
    assert "required methods join, leave" in str(info.value)
    assert registry.get("partial") is None


def test_an_object_with_no_driver_methods_is_refused_naming_all_of_them(
    registry: DriverRegistry,
) -> None:
    with pytest.raises(DriverRegistrationError) as info:
        registry.add("nothing", object(), LOCAL, APPLICATION)  # type: ignore[arg-type]
    assert "create_network, delete_network, create_endpoint" in str(info.value)


@pytest.mark.parametrize("capability", ["local", libnet.Scope.LOCAL, None, {"data_scope": "local"}])
def test_a_capability_that_is_not_a_capability_is_refused(
    registry: DriverRegistry, capability: Any
) -> None:
    with pytest.raises(DriverRegistrationError, match=r"pass a libnet\.Capability"):
        registry.add("vlan", RecordingDriver(), capability, APPLICATION)
    assert registry.get("vlan") is None


def test_a_second_driver_for_a_registered_name_is_refused_and_the_first_kept(
    registry: DriverRegistry,
) -> None:
    first, second = RecordingDriver(), RecordingDriver()
    registry.add("vlan", first, LOCAL, ENTRYPOINT)
    with pytest.raises(DriverRegistrationError, match="already served by entry point 'vlan'"):
        registry.add("vlan", second, LOCAL, APPLICATION)
    entry = registry.get("vlan")
    assert entry is not None
    assert entry.driver is first


@pytest.mark.parametrize("name", sorted(BUILTIN_DRIVERS))
@pytest.mark.parametrize("origin", [APPLICATION, ENTRYPOINT], ids=["application", "entrypoint"])
def test_built_in_names_are_refused_to_other_origins(
    registry: DriverRegistry, name: str, origin: DriverOrigin
) -> None:
    with pytest.raises(DriverRegistrationError, match=f"{name!r} is built into libnet"):
        registry.add(name, RecordingDriver(), LOCAL, origin)
    assert registry.get(name) is None


def test_a_built_in_origin_may_register_a_built_in_name(registry: DriverRegistry) -> None:
    registry.add("bridge", RecordingDriver(), LOCAL)
    entry = registry.get("bridge")
    assert entry is not None
    assert entry.origin.source == "builtin"


@pytest.mark.parametrize("name", sorted(BUILTIN_DRIVERS))
def test_the_application_cannot_register_a_built_in_name(name: str) -> None:
    c = libnet.Controller(plugins="off")
    with pytest.raises(DriverRegistrationError, match="built into libnet"):
        c.register_driver(name, RecordingDriver(), LOCAL)


def test_register_driver_is_the_driver_callback_method(registry: DriverRegistry) -> None:
    assert isinstance(registry, libnet.DriverCallback)
    registry.register_driver("vlan", RecordingDriver(), LOCAL)
    entry = registry.get("vlan")
    assert entry is not None
    assert entry.capability == LOCAL


def test_one_registry_class_holds_ipam_drivers_configured_by_their_kind() -> None:
    from libnet.ipam import IpamCapability, IpamRegistry, NullIpam

    ipam = IpamRegistry(frozenset({"null"}))
    assert isinstance(ipam, DriverRegistry) and ipam.kind.label == "IPAM driver"
    ipam.register_ipam_driver("null", NullIpam(), IpamCapability())
    with pytest.raises(DriverRegistrationError, match="IPAM driver 'null' is already served"):
        ipam.add("null", NullIpam(), IpamCapability())
    with pytest.raises(DriverRegistrationError, match=r"libnet\.ipam\.Ipam subclass"):
        ipam.add("half", libnet.ipam.Ipam(), IpamCapability())
    with pytest.raises(DriverRegistrationError, match="register them with register_ipam_driver"):
        ipam.register_driver("vlan", NullIpam(), IpamCapability())
    with pytest.raises(DriverRegistrationError, match="register them with register_driver"):
        DriverRegistry().register_ipam_driver("x", RecordingDriver(), LOCAL)


def test_remove_forgets_a_driver(registry: DriverRegistry) -> None:
    registry.add("vlan", RecordingDriver(), LOCAL, APPLICATION)
    registry.remove("vlan")
    assert registry.get("vlan") is None
    registry.add("vlan", RecordingDriver(), LOCAL, APPLICATION)


def test_all_lists_drivers_sorted_by_name(registry: DriverRegistry) -> None:
    for name in ("zeta", "alpha", "mid"):
        registry.add(name, RecordingDriver(), LOCAL, APPLICATION)
    assert [r.name for r in registry.all()] == ["alpha", "mid", "zeta"]


def _in_threads(n: int, fn: Callable[[int], None]) -> list[BaseException]:
    """Run ``fn(i)`` in ``n`` threads released together; return what they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_registrations_of_distinct_names_all_succeed(registry: DriverRegistry) -> None:
    def register(i: int) -> None:
        for j in range(25):
            registry.add(f"t{i}-{j}", RecordingDriver(), LOCAL, APPLICATION)

    assert _in_threads(16, register) == []
    assert {r.name for r in registry.all()} == {f"t{i}-{j}" for i in range(16) for j in range(25)}


def test_concurrent_registrations_of_one_name_let_exactly_one_win(
    registry: DriverRegistry,
) -> None:
    drivers = [RecordingDriver() for _ in range(16)]
    errors = _in_threads(16, lambda i: registry.add("vlan", drivers[i], LOCAL, APPLICATION))
    assert len(errors) == 15
    assert all(isinstance(e, DriverRegistrationError) for e in errors)
    entry = registry.get("vlan")
    assert entry is not None
    assert entry.driver in drivers
