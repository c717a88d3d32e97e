"""DriverConformance: the driver conformance suite, a test class to subclass.

Every test states one rule of the driver contract; a failure says what the driver did, what
the contract asks and which section of ``docs/writing-drivers.md`` explains it. Each module
of this package tests one section of the contract, as a mixin; :class:`DriverConformance`
composes them, and the settings a subclass overrides live in :mod:`._base`.
"""

from __future__ import annotations

from libnet.testing._suite._capability import CapabilityTests
from libnet.testing._suite._concurrency import ConcurrencyTests
from libnet.testing._suite._deleting import DeletingTests
from libnet.testing._suite._failed_join import FailedJoinTests
from libnet.testing._suite._interface import InterfaceTests
from libnet.testing._suite._join_info import JoinInfoTests
from libnet.testing._suite._lifecycle import LifecycleTests
from libnet.testing._suite._networks import NetworksTests
from libnet.testing._suite._restore import RestoreTests
from libnet.testing._suite._unknown_ids import UnknownIdTests

__all__ = ["DriverConformance"]


# pytest collects inherited tests base class first, that is from the last base listed to
# the first: the parts are listed in reverse so the tests run in the contract's order,
# lifecycle first and restore last.
class DriverConformance(
    RestoreTests,
    CapabilityTests,
    ConcurrencyTests,
    NetworksTests,
    DeletingTests,
    FailedJoinTests,
    JoinInfoTests,
    InterfaceTests,
    UnknownIdTests,
    LifecycleTests,
):
    """The driver conformance suite: subclass it as a ``Test...`` class in a test module.

    Set :attr:`network_type` to test the installed driver of that type (built in, or from
    an installed plugin, found through its entry point as libnet finds it), or override
    :meth:`make_driver` to test a driver object directly. The other class attributes
    describe what the driver needs and declares. Each test gets fresh controllers sharing
    one state directory (in the test's ``tmp_path``) and a fresh driver instance; nothing
    touches the host's state unless the driver itself does.
    """
