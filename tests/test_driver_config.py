"""driver_config and ipam_config are checked when the controller is made.

A value that is not a mapping is refused with InvalidOptionError naming the key; a key that
names no built-in driver nor discovered plugin is kept but warned about, with the names
that are known, since a misspelt key would otherwise be ignored without a word.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from _dists import FakeDists
from _drivers import install_plugin

import libnet
from libnet.errors import InvalidOptionError

OPTIONS = [("driver_config", "network type"), ("ipam_config", "IPAM driver")]


@pytest.mark.parametrize(("option", "what"), OPTIONS)
@pytest.mark.parametrize("value", [["vlan"], "vlan=1", 7])
def test_a_config_that_is_not_a_mapping_is_refused(option: str, what: str, value: Any) -> None:
    with pytest.raises(InvalidOptionError, match=f"{option}=.* is not a mapping: pass a dict"):
        libnet.Controller(plugins="off", **{option: value})


@pytest.mark.parametrize(("option", "what"), OPTIONS)
@pytest.mark.parametrize("value", ["eth0", ["eth0"], None, 3])
def test_a_key_whose_value_is_not_a_mapping_is_refused_by_name(
    option: str, what: str, value: Any
) -> None:
    with pytest.raises(InvalidOptionError) as info:
        libnet.Controller(plugins="off", **{option: {"default": {}, "null": value}})
    message = str(info.value)
    assert message.startswith(f"{option}['null'] is {value!r}, not a mapping")
    assert f"pass a dict of the configuration the plugin serving {what} 'null'" in message


@pytest.mark.parametrize(("option", "what"), OPTIONS)
def test_a_key_that_is_not_a_string_is_refused(option: str, what: str) -> None:
    with pytest.raises(InvalidOptionError, match=f"{option} key 7 is not a string"):
        libnet.Controller(plugins="off", **{option: {7: {}}})


def test_a_network_type_nothing_serves_is_warned_about_with_the_known_types() -> None:
    with pytest.warns(UserWarning) as record:
        libnet.Controller(plugins="off", driver_config={"vlna": {"parent": "eth0"}})
    (warning,) = record
    message = str(warning.message)
    assert "driver_config configures network type 'vlna'" in message
    assert "(known: bridge, cni, host, null, overlay, remote)" in message
    assert warning.filename == __file__  # points at the caller of Controller()


def test_an_ipam_driver_nothing_serves_is_warned_about_with_the_known_drivers() -> None:
    with pytest.warns(
        UserWarning,
        match=r"ipam_config configures IPAM driver 'statc'.*"
        r"\(known: default, null\)",
    ):
        libnet.Controller(plugins="off", ipam_config={"statc": {}})


def test_keys_of_built_in_and_discovered_drivers_are_not_warned_about(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-vlan", "vlan")  # discovered, not loaded (lazy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        libnet.Controller(
            driver_config={"vlan": {"parent": "eth0"}, "bridge": {}, "remote": {}},
            ipam_config={"default": {}, "null": {}},
        )


def test_with_plugins_off_a_plugin_network_type_is_unknown(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-vlan", "vlan")
    with pytest.warns(UserWarning, match="network type 'vlan'"):
        libnet.Controller(plugins="off", driver_config={"vlan": {}})


def test_a_checked_config_still_reaches_the_init_hook_read_only(dists: FakeDists) -> None:
    module = install_plugin(dists, "libnet-vlan", "vlan")
    config = {"vlan": {"parent": "eth0"}}
    libnet.Controller(plugins="eager", driver_config=config)
    config["vlan"]["parent"] = "eth1"  # the controller took a copy
    (seen,) = dists.module(module).CONFIGS
    assert seen == {"parent": "eth0"}
    with pytest.raises(TypeError):
        seen["parent"] = "eth1"
