"""``libnet endpoint inspect`` shows what the driver reports, and the rest when it cannot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from libnet import Controller
from libnet.cli import main
from libnet.drivers.null import NullDriver


def inspect(state: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    status = main(["--state-dir", str(state), "endpoint", "inspect", "none", "web"])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


@pytest.fixture
def state(tmp_path: Path) -> Path:
    with Controller(state_dir=tmp_path, plugins="off") as controller:
        controller.new_network("null", "none").create_endpoint("web")
    return tmp_path


def test_inspect_includes_the_drivers_oper_info(
    state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(NullDriver, "endpoint_oper_info", lambda self, nid, eid: {"k": "v"})
    status, (ep,), err = inspect(state, capsys)
    assert (status, err) == (0, "")
    assert ep["name"] == "web"
    assert ep["driver_info"] == {"k": "v"}
    assert "driver_info_error" not in ep


def test_a_failing_driver_leaves_the_rest_and_says_why(
    state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: NullDriver, nid: str, eid: str) -> dict[str, Any]:
        raise RuntimeError("kernel unreachable")

    monkeypatch.setattr(NullDriver, "endpoint_oper_info", broken)
    status, (ep,), err = inspect(state, capsys)
    assert (status, err) == (0, "")
    assert (ep["name"], ep["driver_info"]) == ("web", None)
    assert "kernel unreachable" in ep["driver_info_error"]
    assert "endpoint 'web' on network 'none'" in ep["driver_info_error"]
