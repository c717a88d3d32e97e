"""The well-known network options, read one way by every built-in driver (drivers/wellknown.py)."""

from __future__ import annotations

from typing import Any

import pytest

from libnet import labels
from libnet.drivers.overlay.driver import OverlayDriver
from libnet.drivers.wellknown import generic_options, internal_option, mtu_option
from libnet.errors import InvalidOptionError


def test_generic_options_are_a_copy_of_the_users_options() -> None:
    given = {"a": "1"}
    generic = generic_options({labels.GENERIC: given})
    assert generic == {"a": "1"}
    generic["b"] = "2"
    assert given == {"a": "1"}
    assert generic_options({}) == {}
    assert generic_options({labels.GENERIC: None}) == {}


def test_internal_option() -> None:
    assert internal_option({labels.INTERNAL: True}) is True
    assert internal_option({labels.INTERNAL: False}) is False
    assert internal_option({}) is False


@pytest.mark.parametrize(
    ("value", "expected"), [("", None), ("1400", 1400), (68, 68), ("65535", 65535)]
)
def test_mtu_option_reads_an_mtu(value: Any, expected: int | None) -> None:
    assert mtu_option({labels.MTU: value}) == expected
    assert mtu_option({}) is None


@pytest.mark.parametrize("value", ["67", "65536", "big", "1.5", [1400]])
def test_mtu_option_refuses_what_is_no_mtu(value: Any) -> None:
    with pytest.raises(InvalidOptionError, match=r"driver\.mtu=.* must be an MTU from 68 to"):
        mtu_option({labels.MTU: value})


def test_overlay_refuses_a_bad_mtu_before_anything_else() -> None:
    # Without a store the driver would fail next naming the global store: the MTU comes first.
    driver = OverlayDriver("0123456789ab")
    options = {labels.GENERIC: {labels.MTU: "40"}}
    with pytest.raises(InvalidOptionError, match=r"driver\.mtu='40'"):
        driver.create_network("f" * 64, options, [], [])
