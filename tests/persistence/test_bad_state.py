"""A state file libnet cannot use is refused with an error naming it, and never reset."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

import libnet
from libnet.errors import StoreCorruptError, StoreError, StoreVersionError
from libnet.store.sqlite import SCHEMA_VERSION

from ._support import REC, open_controller

PAGE = 4096


def _garbage(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _make_state(state_dir: Path, sandboxes: int = 3) -> None:
    controller, _ = open_controller(state_dir)
    with controller:
        net = controller.new_network(REC, "alpha")
        for i in range(sandboxes):
            net.create_endpoint(f"e{i}").join(controller.new_sandbox(f"ctr-{i}"))


def _files(state_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(state_dir.iterdir()) if p.is_file()}


def test_garbage_file_is_refused_with_an_error_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(_garbage(3 * PAGE))
    with pytest.raises(StoreError) as caught:
        libnet.Controller(state_dir=tmp_path)
    assert isinstance(caught.value, StoreCorruptError)
    assert str(db) in str(caught.value)


def test_garbage_file_is_left_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    garbage = _garbage(3 * PAGE)
    db.write_bytes(garbage)
    for _ in range(2):  # a second try does not reset it either
        with pytest.raises(StoreCorruptError):
            libnet.Controller(state_dir=tmp_path)
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_garbage_behind_a_sqlite_header_is_refused_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    data = b"SQLite format 3\x00" + _garbage(2 * PAGE)
    db.write_bytes(data)
    with pytest.raises(StoreCorruptError, match=str(db)):
        libnet.Controller(state_dir=tmp_path)
    assert db.read_bytes() == data


def test_damaged_records_raise_on_read_and_the_file_is_kept(tmp_path: Path) -> None:
    _make_state(tmp_path, sandboxes=200)
    db = tmp_path / "state.db"
    data = bytearray(db.read_bytes())
    assert len(data) > 12 * PAGE
    data[8 * PAGE :] = _garbage(len(data) - 8 * PAGE)  # the schema pages survive
    db.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match=str(db)):
        controller = libnet.Controller(state_dir=tmp_path, plugins="off")
        try:
            controller.sandboxes()
            controller.new_sandbox("one-more")
        finally:
            controller.close()
    assert db.read_bytes() == bytes(data)


def test_newer_schema_is_refused_naming_the_file(tmp_path: Path) -> None:
    _make_state(tmp_path)
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE name = 'schema_version'", (SCHEMA_VERSION + 1,)
        )
    conn.close()
    before = _files(tmp_path)
    with pytest.raises(StoreVersionError, match="newer libnet") as caught:
        libnet.Controller(state_dir=tmp_path)
    assert isinstance(caught.value, StoreError)
    assert str(db) in str(caught.value)
    assert _files(tmp_path) == before


def test_newer_schema_keeps_its_records(tmp_path: Path) -> None:
    _make_state(tmp_path)
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = 99 WHERE name = 'schema_version'")
        keys = conn.execute("SELECT key FROM kv ORDER BY key").fetchall()
    conn.close()
    for _ in range(2):
        with pytest.raises(StoreVersionError):
            libnet.Controller(state_dir=tmp_path)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT key FROM kv ORDER BY key").fetchall() == keys
        assert conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (
            99,
        )
    finally:
        conn.close()
    ours = [k for (k,) in keys if not k.startswith("ipam/")]
    assert len(ours) == 1 + 2 * 3  # network, 3 endpoints, 3 sandboxes


def test_foreign_sqlite_database_is_refused_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    data = db.read_bytes()
    with pytest.raises(StoreCorruptError, match="not a libnet state file"):
        libnet.Controller(state_dir=tmp_path)
    assert db.read_bytes() == data


def test_undecodable_record_is_reported_not_skipped(tmp_path: Path) -> None:
    _make_state(tmp_path, sandboxes=1)
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        (key,) = conn.execute("SELECT key FROM kv WHERE key LIKE 'local/network/%'").fetchone()
        conn.execute("UPDATE kv SET value = ? WHERE key = ?", (b"{not json", key))
    conn.close()
    with libnet.Controller(state_dir=tmp_path, plugins="off") as controller:
        with pytest.raises(StoreCorruptError, match=key):
            controller.networks()
        assert controller._store.get(key).value == b"{not json"


def test_record_with_unknown_fields_is_reported(tmp_path: Path) -> None:
    _make_state(tmp_path, sandboxes=1)
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        key, value = conn.execute(
            "SELECT key, value FROM kv WHERE key LIKE 'local/sandbox/%'"
        ).fetchone()
        record = {**json.loads(value), "from_the_future": 1}
        conn.execute("UPDATE kv SET value = ? WHERE key = ?", (json.dumps(record).encode(), key))
    conn.close()
    with (
        libnet.Controller(state_dir=tmp_path, plugins="off") as controller,
        pytest.raises(StoreCorruptError, match=key),
    ):
        controller.sandboxes()
