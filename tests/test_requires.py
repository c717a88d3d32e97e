"""The version gate reads plain requirements itself, and agrees with ``packaging`` on them.

``packaging`` costs more to import than loading a plugin, so the gate decides
``libnet>=0.1,<0.2`` and the like on its own; anything unusual still goes to ``packaging``.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from libnet.drivers.remote import requires
from libnet.drivers.remote.requires import version_mismatch

OPERATORS = (">=", "<=", ">", "<", "==", "!=")
VERSIONS = ("0", "0.1", "0.1.0", "0.2", "1", "1.0.0", "1.2.3", "2", "10.0")
RUNNING = ("0.1.0", "0.1", "1.0", "1.2.3", "2.0.0", "10")

PLAIN = [
    *(f"libnet{op}{v}" for op, v in itertools.product(OPERATORS, VERSIONS)),
    *(
        f"libnet {a} {v} , {b}{w}"
        for (a, b), v, w in itertools.product(
            [(">=", "<"), (">", "<="), ("!=", ">="), ("==", "!=")], ("0.1", "1"), ("0.2", "2")
        )
    ),
    "libnet",
    "Libnet_>=0.1",
]


@pytest.mark.parametrize("running", RUNNING)
def test_plain_requirements_agree_with_packaging(running: str) -> None:
    for text in PLAIN:
        plain = requires._plain(text, running)
        assert plain is not None, f"{text!r} is plain"
        assert plain == requires._packaging(text, running), text


@pytest.mark.parametrize(
    ("text", "running"),
    [
        ('libnet>=9; extra == "docs"', "0.1.0"),
        ("libnet>=9; python_version < '3'", "0.1.0"),
        ("libnet~=0.1", "0.1.0"),
        ("libnet==0.1.*", "0.1.0"),
        ("libnet===0.1.0", "0.1.0"),
        ("libnet[extra]>=0.1", "0.1.0"),
        ("libnet (>=0.1)", "0.1.0"),
        ("libnet>=0.1rc1", "0.1.0"),
        ("libnet>=0.1", "0.2.dev1"),
        ("libnet<0.2", "0.2rc1"),
        ("libnet >= = 1", "0.1.0"),
        ("libnet>=0.1,", "0.1.0"),
    ],
)
def test_anything_else_goes_to_packaging(text: str, running: str) -> None:
    assert requires._plain(text, running) is None
    assert version_mismatch([text], running) == (requires._packaging(text, running) or None)


def test_a_mismatch_names_the_bounds_lower_first() -> None:
    assert version_mismatch(["libnet <3, >=2"], "0.1.0") == "requires libnet>=2,<3; this is 0.1.0"
    assert version_mismatch(["libnet>=0.1", "libnet!=0.1.0"], "0.1.0") == (
        "requires libnet!=0.1.0; this is 0.1.0"
    )
    assert version_mismatch(["libnet>=0.1,<1"], "0.1.0") is None


@pytest.mark.slow
def test_a_plain_requirement_does_not_import_packaging() -> None:
    code = (
        "import sys\n"
        "from libnet.drivers.remote.requires import version_mismatch\n"
        "assert version_mismatch(['libnet>=0.1,<99'], '0.1.0') is None\n"
        "assert version_mismatch(['libnet>=2'], '0.1.0')\n"
        "print('packaging' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
