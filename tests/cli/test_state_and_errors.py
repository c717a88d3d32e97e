"""Where the command keeps its state, and how it reports errors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from libnet.cli._context import resolve_state_dir

from .conftest import Libnet, clean_env, run

pytestmark = pytest.mark.slow


def test_state_dir_comes_from_the_environment(tmp_path: Path) -> None:
    state = tmp_path / "from-env"
    env = clean_env(LIBNET_STATE_DIR=str(state))
    run("network", "create", "-d", "null", "none", env=env, cwd=tmp_path).ok()
    assert (state / "state.db").is_file()
    assert run("network", "ls", "-q", env=env, cwd=tmp_path).lines() != []


def test_state_dir_option_wins_over_the_environment(libnet: Libnet, tmp_path: Path) -> None:
    env = clean_env(LIBNET_STATE_DIR=str(tmp_path / "from-env"))
    args = ("--state-dir", str(libnet.state_dir), "network", "create", "-d", "null", "none")
    run(*args, env=env, cwd=tmp_path).ok()
    assert (libnet.state_dir / "state.db").is_file()
    assert not (tmp_path / "from-env").exists()


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)


def test_state_dir_option_comes_first() -> None:
    env = {"LIBNET_STATE_DIR": "/from/env", "HOME": "/home/u"}
    assert resolve_state_dir("/from/option", env) == Path("/from/option")


def test_state_dir_env_comes_before_the_defaults(as_user: None) -> None:
    assert resolve_state_dir(None, {"LIBNET_STATE_DIR": "/from/env"}) == Path("/from/env")


def test_default_state_dir_of_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    env = {"HOME": "/root", "XDG_STATE_HOME": "/root/.state"}
    assert resolve_state_dir(None, env) == Path("/var/lib/libnet")


def test_default_state_dir_of_a_user_is_under_xdg_state_home(as_user: None) -> None:
    env = {"HOME": "/home/u", "XDG_STATE_HOME": "/home/u/state"}
    assert resolve_state_dir(None, env) == Path("/home/u/state/libnet")


@pytest.mark.parametrize("xdg", ["", "relative/state"], ids=["empty", "relative"])
def test_default_state_dir_of_a_user_falls_back_to_home(as_user: None, xdg: str) -> None:
    env = {"HOME": "/home/u", "XDG_STATE_HOME": xdg, "LIBNET_STATE_DIR": ""}
    assert resolve_state_dir(None, env) == Path("/home/u/.local/state/libnet")


def test_empty_state_dir_option_is_a_usage_error(tmp_path: Path) -> None:
    run("--state-dir", "", "network", "ls", cwd=tmp_path).usage_error("--state-dir")


def test_error_is_one_line_and_debug_adds_the_traceback(libnet: Libnet) -> None:
    libnet("network", "inspect", "missing").error("network 'missing' not found")

    debug = libnet("--debug", "network", "rm", "missing")
    assert debug.returncode == 1
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert "NetworkNotFoundError" in debug.stderr
    assert debug.stderr.splitlines()[-1] == "libnet: error: network 'missing' not found"


def test_corrupt_state_file_is_reported_and_left_untouched(libnet: Libnet) -> None:
    libnet.state_dir.mkdir()
    db = libnet.state_dir / "state.db"
    garbage = b"this is not a SQLite database\n" * 200
    db.write_bytes(garbage)

    libnet("network", "ls").error(str(db), "corrupt")
    libnet("network", "create", "-d", "null", "none").error(str(db))
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in libnet.state_dir.iterdir()) == ["state.db"]


def test_state_file_of_a_newer_libnet_is_reported_and_left_untouched(libnet: Libnet) -> None:
    libnet.state_dir.mkdir()
    db = libnet.state_dir / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)")
        conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB, idx INTEGER)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', 99), ('last_index', 0)")
    conn.close()
    before = db.read_bytes()

    libnet("network", "ls").error(str(db), "newer libnet")
    assert db.read_bytes() == before


def test_state_dir_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    state = blocker / "state"
    result = run("--state-dir", str(state), "sandbox", "ls", cwd=tmp_path)
    result.error(str(state))
