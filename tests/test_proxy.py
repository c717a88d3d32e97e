"""RemoteDriver: what the controller sees of a plugin's driver, with errors made DriverError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _dists import FakeDists
from _drivers import RecordingDriver, install_plugin

import libnet
from libnet.driverapi import InterfaceInfo, JoinInfo
from libnet.drivers.remote import RemoteDriver
from libnet.errors import DriverError, ForbiddenError, UnsupportedOperationError
from libnet.registry import DriverOrigin

ORIGIN = DriverOrigin("entrypoint", "vlan", "libnet-vlan", "1.2")

CALLS: dict[str, tuple[Any, ...]] = {
    "create_network": ("n1", {}, [], []),
    "delete_network": ("n1",),
    "create_endpoint": ("n1", "e1", InterfaceInfo(), {}),
    "delete_endpoint": ("n1", "e1"),
    "endpoint_oper_info": ("n1", "e1"),
    "join": ("n1", "e1", None, JoinInfo(), {}),
    "leave": ("n1", "e1"),
    "program_external_connectivity": ("n1", "e1", {}),
    "revoke_external_connectivity": ("n1", "e1"),
    "allocate_network": ("n1", {}, [], []),
    "free_network": ("n1",),
    "discover_new": (1, {}),
    "discover_delete": (1, {}),
    "restore_network": ("n1", {}, [], []),
    "restore_endpoint": ("n1", "e1", InterfaceInfo(), {}),
}


class Broken:
    """A plugin driver whose every method raises ``error(method)``."""

    def __init__(self, error: Callable[[str], Exception]) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(*args: Any) -> Any:
            raise self._error(name)

        return fail


class Minimal:
    """A plugin driver that is a plain object with only the required methods."""

    def __init__(self, oper_info: Any = None) -> None:
        self.calls: list[str] = []
        self._oper_info = oper_info

    def create_network(self, *args: Any) -> None:
        self.calls.append("create_network")

    def create_endpoint(self, *args: Any) -> None:
        self.calls.append("create_endpoint")

    def endpoint_oper_info(self, *args: Any) -> Any:
        return self._oper_info

    delete_network = delete_endpoint = join = leave = create_network


@pytest.mark.parametrize("method", sorted(CALLS))
def test_any_plugin_driver_exception_becomes_a_driver_error_naming_type_and_origin(
    method: str,
) -> None:
    proxy = RemoteDriver("vlan", Broken(lambda m: OSError(f"{m} broke")), ORIGIN)
    with pytest.raises(DriverError) as info:
        getattr(proxy, method)(*CALLS[method])
    message = str(info.value)
    assert "network type 'vlan'" in message
    assert "entry point 'vlan' of distribution libnet-vlan 1.2" in message
    assert f"failed in {method}: OSError: {method} broke" in message


@pytest.mark.parametrize("method", sorted(CALLS))
def test_the_plugin_driver_exception_is_chained_as_the_cause(method: str) -> None:
    proxy = RemoteDriver("vlan", Broken(lambda m: KeyError(m)), ORIGIN)
    with pytest.raises(DriverError) as info:
        getattr(proxy, method)(*CALLS[method])
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.__cause__.args == (method,)


def test_a_libnet_error_from_a_plugin_driver_also_becomes_a_driver_error() -> None:
    proxy = RemoteDriver("vlan", Broken(lambda m: ForbiddenError("no")), ORIGIN)
    with pytest.raises(DriverError) as info:
        proxy.create_network("n1", {}, [], [])
    assert isinstance(info.value.__cause__, ForbiddenError)


def test_a_plugin_driver_error_reaches_the_caller_as_a_driver_error(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-vlan", "vlan", version="1.2", fail_on=["create_network"])
    c = libnet.Controller()
    with pytest.raises(DriverError) as info:
        c.new_network("vlan", "v")
    assert "'vlan'" in str(info.value)
    assert "libnet-vlan 1.2" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize("bad", [["a", "list"], "text", 42])
def test_endpoint_oper_info_returning_a_non_dict_is_a_driver_error(bad: Any) -> None:
    proxy = RemoteDriver("vlan", Minimal(oper_info=bad), ORIGIN)
    with pytest.raises(DriverError, match=f"it returned {type(bad).__name__}"):
        proxy.endpoint_oper_info("n1", "e1")


def test_endpoint_oper_info_returning_a_non_dict_fails_driver_info(dists: FakeDists) -> None:
    dists.install(
        "libnet-vlan",
        entry_points={"vlan": "libnet_vlan"},
        modules={
            "libnet_vlan": """\
                import libnet, _drivers

                class Driver(_drivers.RecordingDriver):
                    def endpoint_oper_info(self, nid, eid):
                        return [nid, eid]

                @libnet.hookimpl
                def libnet_driver_init(callback, config):
                    callback.register_driver("vlan", Driver(), _drivers.LOCAL)
                """
        },
    )
    endpoint = libnet.Controller().new_network("vlan", "v").create_endpoint("e")
    with pytest.raises(DriverError, match="endpoint_oper_info"):
        endpoint.driver_info()


def test_endpoint_oper_info_returning_none_is_an_empty_dict() -> None:
    assert RemoteDriver("vlan", Minimal(oper_info=None), ORIGIN).endpoint_oper_info("n", "e") == {}


def test_endpoint_oper_info_is_copied_into_a_dict() -> None:
    info = {"vlan_id": 7}
    result = RemoteDriver("vlan", Minimal(oper_info=info), ORIGIN).endpoint_oper_info("n", "e")
    assert result == info
    assert result is not info


@pytest.mark.parametrize(
    "method",
    ["program_external_connectivity", "revoke_external_connectivity", "discover_new"],
)
def test_optional_methods_a_plugin_driver_lacks_are_accepted_and_ignored(method: str) -> None:
    assert getattr(RemoteDriver("vlan", Minimal(), ORIGIN), method)(*CALLS[method]) is None


@pytest.mark.parametrize("method", ["allocate_network", "free_network"])
def test_network_allocation_a_plugin_driver_lacks_is_unsupported(method: str) -> None:
    with pytest.raises(UnsupportedOperationError):
        getattr(RemoteDriver("vlan", Minimal(), ORIGIN), method)(*CALLS[method])


@pytest.mark.parametrize(
    ("method", "fallback"),
    [("restore_network", "create_network"), ("restore_endpoint", "create_endpoint")],
)
def test_restore_falls_back_to_create_when_the_plugin_driver_lacks_it(
    method: str, fallback: str
) -> None:
    driver = Minimal()
    getattr(RemoteDriver("vlan", driver, ORIGIN), method)(*CALLS[method])
    assert driver.calls == [fallback]


def test_calls_are_forwarded_with_their_arguments() -> None:
    driver = RecordingDriver()
    proxy = RemoteDriver("vlan", driver, ORIGIN)
    proxy.create_network("n1", {"k": "v"}, [], [])
    proxy.program_external_connectivity("n1", "e1", {"p": 1})
    assert driver.calls == [
        ("create_network", "n1", {"k": "v"}),
        ("program_external_connectivity", "n1", "e1", {"p": 1}),
    ]


def test_the_proxy_exposes_the_plugin_driver_and_its_origin() -> None:
    driver = RecordingDriver()
    proxy = RemoteDriver("vlan", driver, ORIGIN)
    assert (proxy.wrapped, proxy.network_type, proxy.origin) == (driver, "vlan", ORIGIN)
