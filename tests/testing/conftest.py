"""Tests of libnet.testing (its plugin and pytester are enabled in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.fixture
def reference_source() -> str:
    """The source of :mod:`reference_driver`, for sub-sessions to import."""
    return (HERE / "reference_driver.py").read_text()
