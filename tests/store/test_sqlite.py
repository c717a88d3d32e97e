"""SqliteStore: the file, its settings, refusing bad files, and sharing it between processes."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from libnet.errors import (
    InvalidOptionError,
    OperationTimeoutError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from libnet.store import SqliteStore
from libnet.store.sqlite import SCHEMA_VERSION


def _sql(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Run one statement on the file with a separate, plain sqlite3 connection."""
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(sql).fetchall()


# The file and its settings.


def test_creates_state_db_in_a_new_state_directory_with_mode_0700(tmp_path: Path) -> None:
    state_dir = tmp_path / "lib" / "libnet"
    with SqliteStore(state_dir) as store:
        store.put("k", b"v")
        assert store.path == state_dir / "state.db"
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert (state_dir / "state.db").is_file()


def test_path_ending_in_db_names_the_database_file(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "custom.db") as store:
        store.put("k", b"v")
    assert (tmp_path / "custom.db").is_file()
    assert not (tmp_path / "custom.db" / "state.db").exists()


def test_data_and_index_survive_reopening(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as store:
        written = store.put("k", b"v")
        store.put("gone", b"")
        store.delete("gone")
    with SqliteStore(tmp_path) as store:
        assert store.get("k") == written
        assert store.put("new", b"").index > written.index + 1


def test_uses_wal_journal_and_normal_synchronous(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as store:
        assert _sql(store.path, "PRAGMA journal_mode") == [("wal",)]
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL


def test_synchronous_full_is_applied(tmp_path: Path) -> None:
    with SqliteStore(tmp_path, synchronous="FULL") as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_unknown_synchronous_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="'OFF'"):
        SqliteStore(tmp_path, synchronous="OFF")  # type: ignore[arg-type]


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    SqliteStore(tmp_path).close()
    rows = _sql(tmp_path / "state.db", "SELECT value FROM meta WHERE name = 'schema_version'")
    assert rows == [(SCHEMA_VERSION,)]


# Files that are refused, and left as they are.


def test_garbage_file_raises_corrupt_error_and_is_left_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    garbage = bytes(range(256)) * 64
    db.write_bytes(garbage)
    with pytest.raises(StoreCorruptError, match="the file was not changed") as info:
        SqliteStore(tmp_path)
    assert str(db) in str(info.value)
    assert db.read_bytes() == garbage


def test_foreign_sqlite_database_raises_corrupt_error_and_is_left_unchanged(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    _sql(db, "CREATE TABLE photos (id INTEGER)")
    before = db.read_bytes()
    with pytest.raises(StoreCorruptError, match="not a libnet state file"):
        SqliteStore(tmp_path)
    assert db.read_bytes() == before


def test_an_empty_state_file_is_refused_and_left_empty(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(b"")
    with pytest.raises(StoreCorruptError, match=r"is empty.*not changed"):
        SqliteStore(tmp_path)
    assert db.read_bytes() == b""


def test_a_sqlite_database_without_tables_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _sql(db, "PRAGMA user_version = 7")  # a valid database file with no schema at all
    before = db.read_bytes()
    assert before
    with pytest.raises(StoreCorruptError, match="not a libnet state file"):
        SqliteStore(tmp_path)
    assert db.read_bytes() == before


def test_a_new_state_file_appears_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    with closing(SqliteStore(tmp_path)):
        pass
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert _sql(tmp_path / "state.db", "SELECT value FROM meta WHERE name='schema_version'") == [
        (SCHEMA_VERSION,)
    ]


def test_newer_schema_raises_version_error_and_is_left_unchanged(tmp_path: Path) -> None:
    SqliteStore(tmp_path).close()
    db = tmp_path / "state.db"
    newer = SCHEMA_VERSION + 1
    _sql(db, f"UPDATE meta SET value = {newer} WHERE name = 'schema_version'")
    before = db.read_bytes()
    with pytest.raises(StoreVersionError, match=f"newer libnet \\(schema {newer}\\)") as info:
        SqliteStore(tmp_path)
    assert str(db) in str(info.value)
    assert "upgrade libnet" in str(info.value)
    assert db.read_bytes() == before


def test_state_dir_under_a_regular_file_raises_store_error_naming_it(tmp_path: Path) -> None:
    # Works as root too, where permission bits do not stop writes: nothing can be created
    # inside a regular file.
    (tmp_path / "file").write_text("")
    state_dir = tmp_path / "file" / "libnet"
    with pytest.raises(StoreError, match="cannot create state directory") as info:
        SqliteStore(state_dir)
    assert str(state_dir) in str(info.value)


def test_state_db_that_is_a_directory_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()
    with pytest.raises(StoreError, match=r"state\.db"):
        SqliteStore(tmp_path)


# Two stores on one file.


def test_another_instance_sees_a_transaction_only_once_committed(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as writer, SqliteStore(tmp_path) as reader:
        with writer.transaction() as txn:
            txn.put("a", b"1")
            txn.put("b", b"2")
            assert reader.list("") == []  # not blocked, sees the state before
        assert [p.value for p in reader.list("")] == [b"1", b"2"]


def test_another_instance_never_sees_a_rolled_back_transaction(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as writer, SqliteStore(tmp_path) as reader:
        writer.put("a", b"before")
        with pytest.raises(RuntimeError), writer.transaction() as txn:
            txn.put("a", b"after")
            txn.put("b", b"new")
            raise RuntimeError
        assert [(p.key, p.value) for p in reader.list("")] == [("a", b"before")]


def test_writers_on_two_instances_take_turns(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as first, SqliteStore(tmp_path) as second:
        first.put("counter", b"0")
        started = threading.Event()

        def other_writer() -> None:
            started.wait()
            with second.transaction() as txn:  # waits for first's transaction
                count = int(txn.get("counter").value)
                txn.put("counter", str(count + 1).encode())

        thread = threading.Thread(target=other_writer)
        thread.start()
        with first.transaction() as txn:
            count = int(txn.get("counter").value)
            started.set()
            time.sleep(0.2)
            txn.put("counter", str(count + 1).encode())
        thread.join(5)
        assert first.get("counter").value == b"2"


def test_writer_blocked_past_the_timeout_raises_store_busy_error(tmp_path: Path) -> None:
    with SqliteStore(tmp_path) as holder, SqliteStore(tmp_path, timeout=0.2) as waiter:
        with holder.transaction() as txn:
            txn.put("k", b"held")
            began = time.monotonic()
            with pytest.raises(StoreBusyError, match="locked by another process") as info:
                waiter.put("k", b"waiter")
            assert time.monotonic() - began >= 0.15
        assert isinstance(info.value, OperationTimeoutError)
        assert waiter.get("k").value == b"held"


_INCREMENTER = """
import sys, time
from pathlib import Path
from libnet.errors import KeyNotFoundError
from libnet.store import SqliteStore

state_dir, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(state_dir.parent / f"ready-{name}").touch()
while not (state_dir.parent / "go").exists():
    time.sleep(0.001)
with SqliteStore(state_dir) as store:
    for _ in range(count):
        with store.transaction() as txn:
            try:
                value = int(txn.get("counter").value)
            except KeyNotFoundError:
                value = 0
            txn.put("counter", str(value + 1).encode())
"""


@pytest.mark.slow
def test_two_processes_incrementing_one_counter_lose_no_update(tmp_path: Path) -> None:
    # Both processes also create the (new) file at the same moment.
    state_dir = tmp_path / "state"
    procs = [
        subprocess.Popen([sys.executable, "-c", _INCREMENTER, str(state_dir), name, "500"])
        for name in ("a", "b")
    ]
    try:
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"ready-{n}").exists() for n in ("a", "b")):
            assert time.monotonic() < deadline, "the subprocesses did not start"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        assert [proc.wait(60) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with SqliteStore(state_dir) as store:
        assert store.get("counter").value == b"1000"
