"""The overlay's VXLAN port setting: checked when the controller is made, naming the setting."""

from __future__ import annotations

import sys

import pytest

import libnet
from libnet.errors import InvalidOptionError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the overlay driver is Linux-only")


@pytest.mark.parametrize("value", [0, 65536, "many", True, -1])
def test_a_bad_vxlan_port_in_driver_config_is_refused_naming_the_setting(value: object) -> None:
    with pytest.raises(InvalidOptionError) as info:
        libnet.Controller(driver_config={"overlay": {"vxlan_port": value}})
    assert "overlay VXLAN port" in str(info.value)
    assert "LIBNET_VXLAN_PORT" in str(info.value)


def test_a_bad_vxlan_port_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBNET_VXLAN_PORT", "70000")
    with pytest.raises(InvalidOptionError, match="70000"):
        libnet.Controller()


def test_driver_config_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBNET_VXLAN_PORT", "70000")  # would be refused if it were read
    with libnet.Controller(driver_config={"overlay": {"vxlan_port": 4790}}) as c:
        assert c.resolve_driver("overlay").driver.port == 4790  # type: ignore[attr-defined]


def test_without_a_setting_the_port_is_4789(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIBNET_VXLAN_PORT", raising=False)
    with libnet.Controller() as c:
        assert c.resolve_driver("overlay").driver.port == 4789  # type: ignore[attr-defined]
