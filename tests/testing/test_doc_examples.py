"""Every driver example in the documentation passes the conformance suite, as written.

A fenced ``python`` block that defines a ``libnet.Driver`` subclass and the
``libnet_driver_init`` hook is a complete plugin module: it is run through the class form
of the suite (:class:`libnet.testing.DriverConformance` with ``make_driver``), with the
driver its own hook registers, so the examples cannot drift from what the suite demands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

HARNESS = """

# --- added by test_doc_examples: the suite's class form on the example's own hook ---
from libnet.testing import DriverConformance as _DriverConformance


class _Capture:
    def __init__(self):
        self.registered = []

    def register_driver(self, name, driver, capability):
        self.registered.append((name, driver, capability))


def _registered(config):
    capture = _Capture()
    libnet_driver_init(callback=capture, config=config)
    assert len(capture.registered) == 1, capture.registered
    return capture.registered[0]


class TestExampleConforms(_DriverConformance):
    network_type, _driver, capability = _registered({})

    def make_driver(self):
        return _registered(self.driver_config)[1]
"""


def driver_examples(path: Path) -> list[str]:
    """The blocks of ``path`` that are whole plugin modules: a Driver class and the hook."""
    return [
        block
        for block in _BLOCK.findall(path.read_text())
        if re.search(r"^class \w+\(libnet\.Driver\):", block, re.MULTILINE)
        and "def libnet_driver_init(" in block
    ]


EXAMPLES = [
    pytest.param(block, id=f"{path.relative_to(REPO)}-{index}")
    for path in DOCUMENTS
    for index, block in enumerate(driver_examples(path), 1)
]


def test_the_documentation_has_driver_examples() -> None:
    assert driver_examples(REPO / "README.md"), "README.md lost its plugin-author example"
    assert driver_examples(REPO / "docs" / "writing-drivers.md")


@pytest.mark.parametrize("source", EXAMPLES)
def test_a_documented_driver_passes_the_conformance_suite(
    source: str, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_example=source + HARNESS)
    result = pytester.runpytest_subprocess("-p", "libnet.testing", "-W", "error::UserWarning")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes.get("passed", 0) > 0
    assert outcomes.get("warnings", 0) == 0, result.stdout.str()


def test_the_scaffold_pins_libnet_as_the_docs_advise(tmp_path: Path) -> None:
    from libnet.driverapi import DRIVER_API_REQUIREMENT
    from libnet.testing._scaffold import new_driver

    new_driver("vlan", tmp_path / "libnet-vlan")
    pyproject = (tmp_path / "libnet-vlan" / "pyproject.toml").read_text()
    assert f'dependencies = ["{DRIVER_API_REQUIREMENT}"]' in pyproject
    docs = (REPO / "docs" / "writing-drivers.md").read_text()
    assert f'`dependencies = ["{DRIVER_API_REQUIREMENT}"]`' in docs
