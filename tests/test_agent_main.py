"""``python -m libnet.agent`` refuses bad settings with a clear message and exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from libnet.agent.__main__ import main


def test_without_a_global_store_it_says_which_setting_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LIBNET_GLOBAL_STORE", raising=False)
    assert main(["--state-dir", str(tmp_path), "--advertise-addr", "192.0.2.1"]) == 2
    assert "--global-store or LIBNET_GLOBAL_STORE" in caplog.text


def test_a_bad_advertise_address_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    argv = ["--global-store", "etcd://127.0.0.1:1/x/", "--state-dir", str(tmp_path)]
    assert main([*argv, "--advertise-addr", "nowhere"]) == 1
    assert "'nowhere' (--advertise-addr) is not an IP address" in caplog.text


def test_a_bad_host_id_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    argv = ["--global-store", "etcd://127.0.0.1:1/x/", "--state-dir", str(tmp_path)]
    assert main([*argv, "--advertise-addr", "192.0.2.1", "--host-id", "no/slash"]) == 1
    assert "host ID 'no/slash' is not valid" in caplog.text
