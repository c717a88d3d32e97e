"""The SQLite Store, libnet's embedded default: one ``state.db`` file in the state directory.

Durability: the file uses a WAL journal with ``synchronous=NORMAL``. A committed write
survives the process crashing or being killed (SIGKILL); on power loss or an OS crash the
last transactions before the crash may be lost, but the file stays consistent. Pass
``synchronous="FULL"`` to sync the WAL at every commit, which makes commits survive power
loss too at the cost of an fsync each.

Several threads and several processes can use one file at once: a write transaction starts
with ``BEGIN IMMEDIATE``, so writers queue (for up to ``timeout`` seconds) instead of
interleaving, and readers are never blocked by another process's writer.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

from libnet.errors import (
    InvalidOptionError,
    KeyNotFoundError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from libnet.store._api import (
    KVPair,
    Transaction,
    check_previous,
    check_write,
    prefix_end,
)
from libnet.store._guarded import GuardedStore, GuardedTransaction
from libnet.store._locks import FileLocks, Locks

__all__ = [
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "STATE_FILE",
    "SqliteStore",
    "check_schema",
    "db_path",
]

SCHEMA_VERSION = 1
"""The schema this code writes; files with a higher version are refused."""

STATE_FILE = "state.db"
"""The database's name inside the state directory."""

DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for another process's write transaction before giving up."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kv"
    " (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, idx INTEGER NOT NULL)",
    f"INSERT OR IGNORE INTO meta VALUES ('schema_version', {SCHEMA_VERSION}), ('last_index', 0)",
)
_GET = "SELECT value, idx FROM kv WHERE key = ?"
_IDX = "SELECT idx FROM kv WHERE key = ?"
_EXISTS = "SELECT 1 FROM kv WHERE key = ?"
_LIST = "SELECT key, value, idx FROM kv WHERE key >= ? AND key < ? ORDER BY key"
_LIST_ALL = "SELECT key, value, idx FROM kv WHERE key >= ? ORDER BY key"
_PUT = (
    "INSERT INTO kv (key, value, idx) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, idx = excluded.idx"
)
_DELETE = "DELETE FROM kv WHERE key = ?"
_LAST_INDEX = "SELECT value FROM meta WHERE name = 'last_index'"
_SET_LAST_INDEX = "UPDATE meta SET value = ? WHERE name = 'last_index'"


def db_path(path: Path) -> Path:
    """``path`` itself if it names a ``.db`` file, else ``path/state.db``."""
    if path.suffix == ".db" and not path.is_dir():
        return path
    return path / STATE_FILE


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if isinstance(code, int):
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(error) or "busy" in str(error)


def check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a foreign, schema-less or newer file at ``path``."""
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if not {"meta", "kv"} <= tables:
        raise StoreCorruptError(
            f"state file {path} is a SQLite database but not a libnet state file; "
            "the file was not changed: move it away or choose another state directory"
        )
    rows = dict(conn.execute("SELECT name, value FROM meta"))
    version = rows.get("schema_version")
    if not isinstance(version, int) or not isinstance(rows.get("last_index"), int):
        raise StoreCorruptError(
            f"state file {path} has no valid schema version; the file was not changed: "
            "restore it from a backup or move it away"
        )
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"state file {path} was written by a newer libnet (schema {version}); "
            f"upgrade libnet (this version reads schema {SCHEMA_VERSION})"
        )


class SqliteStore(GuardedStore):
    """A Store in a SQLite file, safe to share between threads and processes.

    ``path`` is the state directory (created with mode 0700 if missing), holding
    ``state.db``; a path ending in ``.db`` names the database file itself. An existing
    file that is corrupt, is not a libnet state file or has a newer schema is refused
    and left unchanged. One connection, guarded by a lock, serves all threads.
    """

    __slots__ = ("_conn", "_cur", "_locks", "_path", "_timeout")

    KIND = "state store"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise InvalidOptionError(
                f"synchronous={synchronous!r} is not valid for the SQLite store: "
                "use 'NORMAL' or 'FULL'"
            )
        super().__init__()
        self._path = db_path(Path(path))
        self._timeout = timeout
        self._conn = self._open(synchronous)
        self._cur = self._conn.cursor()  # one cursor, used with the lock held
        self._locks = FileLocks(self._path.with_name(f"{self._path.name}.locks"))

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def timeout(self) -> float:
        """Seconds to wait for another process's write transaction, or object lock."""
        return self._timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._path)!r})"

    # Opening.

    def _open(self, synchronous: str) -> sqlite3.Connection:
        path = self._path
        directory = path.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create state directory {directory}: {e.strerror or e}") from e
        if path.is_file() and not os.access(path, os.W_OK):
            raise StoreError(
                f"state file {path} is not writable by this user (uid {os.geteuid()}; the "
                f"file belongs to uid {path.stat().st_uid}): run the command as a user who "
                "may change the state, or fix its permissions"
            )
        if not os.access(directory, os.W_OK | os.X_OK):
            raise StoreError(
                f"state directory {directory} is not writable: fix its permissions "
                "or choose another state directory"
            )
        if path.is_file() and not os.access(path, os.R_OK | os.W_OK):
            raise StoreError(f"state file {path} is not readable and writable: fix its permissions")
        if not path.exists():
            self._create(synchronous)
        elif path.is_file() and path.stat().st_size == 0:
            raise StoreCorruptError(
                f"state file {path} is empty; libnet never leaves its state file empty, so "
                "something else made or truncated it. The file was not changed: restore it "
                "from a backup or move it away"
            )
        try:
            conn = sqlite3.connect(
                path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open state file {path}: {e}") from e
        try:
            self._check_schema(conn)  # reads only
            mode = self._use_wal(conn)
            if mode != "wal":
                raise StoreError(
                    f"state file {path} cannot use a WAL journal (SQLite kept {mode!r}); "
                    "put the state directory on a local file system"
                )
            conn.execute(f"PRAGMA synchronous = {synchronous}")
        except sqlite3.Error as e:
            conn.close()
            raise self._error(e, "open", opening=True) from e
        except BaseException:
            conn.close()
            raise
        return conn

    def _create(self, synchronous: str) -> None:
        """Make a new state file whole beside ``path``, then link it into place.

        A state file therefore never exists without its schema: an empty or schema-less
        file at ``path`` was not made by libnet and is refused. Processes creating it at
        once each make their own; the first link wins and the others use it.
        """
        path = self._path
        fresh = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
        try:
            conn = sqlite3.connect(fresh, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA synchronous = {synchronous}")
                conn.execute("BEGIN IMMEDIATE")
                for sql in _SCHEMA:
                    conn.execute(sql)
                conn.execute("COMMIT")
            finally:
                conn.close()
            os.link(fresh, path)
        except FileExistsError:
            pass  # another process made it first
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot create state file {path}: {e}") from e
        finally:
            for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _use_wal(self, conn: sqlite3.Connection) -> str:
        """Switch to the WAL journal and return the journal mode now in use.

        Switching needs an exclusive lock and SQLite reports a conflict at once instead of
        waiting, so processes opening a new file together retry until the timeout.
        """
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        deadline = time.monotonic() + self._timeout
        while str(mode).lower() != "wal":
            try:
                (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
                break
            except sqlite3.OperationalError as e:
                if not _is_busy(e) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)
        return str(mode).lower()

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        check_schema(conn, self._path)

    def _error(self, error: sqlite3.Error, action: str, *, opening: bool = False) -> StoreError:
        """The libnet error for a SQLite error met while doing ``action``."""
        path = self._path
        if type(error) is sqlite3.DatabaseError:  # SQLITE_CORRUPT, SQLITE_NOTADB
            if opening:
                return StoreCorruptError(
                    f"state file {path} is not a SQLite database or is corrupt ({error}); "
                    "the file was not changed: restore it from a backup or move it away"
                )
            return StoreCorruptError(
                f"state file {path} is corrupt ({error}); stop libnet and restore it "
                "from a backup or move it away"
            )
        if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
            return StoreBusyError(
                f"state file {path} stayed locked by another process for more than "
                f"{self._timeout:g} s, so libnet could not {action} it; try again"
            )
        return StoreError(f"could not {action} state file {path}: {error}")

    # Locking. The lock guards the connection; a transaction holds it from start to end.

    def _name(self) -> str:
        return f"state store {self._path}"

    def _start(self) -> None:
        try:
            self._cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise self._error(e, "start a write transaction on") from e

    def _end(self, commit: bool, last_index: int | None) -> None:
        cur = self._cur
        if commit:
            try:
                if last_index is not None:
                    cur.execute(_SET_LAST_INDEX, (last_index,))
                cur.execute("COMMIT")
            except sqlite3.Error as e:
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        cur.execute("ROLLBACK")
                raise self._error(e, "commit to") from e
        elif self._conn.in_transaction:
            try:
                cur.execute("ROLLBACK")
            except sqlite3.Error as e:
                raise self._error(e, "roll back a transaction on") from e

    # SQL, run with the lock held.

    def _get(self, key: str) -> KVPair | None:
        try:
            row = self._cur.execute(_GET, (key,)).fetchone()
        except sqlite3.Error as e:
            raise self._error(e, "read") from e
        return None if row is None else KVPair(key, row[0], row[1])

    def _index_of(self, key: str) -> int | None:
        try:
            row = self._cur.execute(_IDX, (key,)).fetchone()
        except sqlite3.Error as e:
            raise self._error(e, "read") from e
        return None if row is None else int(row[0])

    def _exists(self, key: str) -> bool:
        try:
            return self._cur.execute(_EXISTS, (key,)).fetchone() is not None
        except sqlite3.Error as e:
            raise self._error(e, "read") from e

    def _list(self, prefix: str) -> builtins.list[KVPair]:
        end = prefix_end(prefix)
        try:
            if end is None:
                rows = self._cur.execute(_LIST_ALL, (prefix,)).fetchall()
            else:
                rows = self._cur.execute(_LIST, (prefix, end)).fetchall()
        except sqlite3.Error as e:
            raise self._error(e, "read") from e
        return [KVPair(key, value, idx) for key, value, idx in rows]

    def _last_index(self) -> int:
        try:
            return int(self._cur.execute(_LAST_INDEX).fetchone()[0])
        except sqlite3.Error as e:
            raise self._error(e, "read") from e

    def _put(self, key: str, value: bytes, index: int) -> KVPair:
        try:
            self._cur.execute(_PUT, (key, value, index))
        except sqlite3.Error as e:
            raise self._error(e, "write") from e
        return KVPair(key, value, index)

    def _delete(self, key: str) -> bool:
        try:
            return self._cur.execute(_DELETE, (key,)).rowcount > 0
        except sqlite3.Error as e:
            raise self._error(e, "write") from e

    # The Store API.

    def get(self, key: str) -> KVPair:
        self._acquire()
        try:
            pair = self._get(key)
        finally:
            self._lock.release()
        if pair is None:
            raise KeyNotFoundError(key)
        return pair

    def exists(self, key: str) -> bool:
        self._acquire()
        try:
            return self._exists(key)
        finally:
            self._lock.release()

    def list(self, prefix: str) -> builtins.list[KVPair]:
        self._acquire()
        try:
            return self._list(prefix)
        finally:
            self._lock.release()

    def put(self, key: str, value: bytes) -> KVPair:
        with _SqliteTransaction(self) as txn:
            return txn.put(key, value)

    def delete(self, key: str) -> None:
        with _SqliteTransaction(self) as txn:
            txn.delete(key)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        with _SqliteTransaction(self) as txn:
            return txn.atomic_put(key, value, previous)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        with _SqliteTransaction(self) as txn:
            txn.atomic_delete(key, previous)

    def transaction(self) -> Transaction:
        return _SqliteTransaction(self)

    def locks(self) -> Locks:
        """``flock`` files in ``state.db.locks/`` beside the database: shared by every
        process using it, and released by the kernel when a holder dies."""
        return self._locks

    def close(self) -> None:
        self._check_close()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


class _SqliteTransaction(GuardedTransaction["SqliteStore"]):
    """A SqliteStore transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, holding the store's lock.

    The store-wide index counter is read at the first write and saved once at commit.
    """

    __slots__ = ("_index", "_loaded")

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store)
        self._index = 0
        self._loaded = -1  # the counter as read from the file; -1: not read yet

    def _end(self, commit: bool) -> None:
        changed = self._loaded >= 0 and self._index != self._loaded
        self._store._end(commit, self._index if changed else None)

    def _next_index(self) -> int:
        if self._loaded < 0:
            self._index = self._loaded = self._store._last_index()
        self._index += 1
        return self._index

    def get(self, key: str) -> KVPair:
        pair = self._check()._get(key)
        if pair is None:
            raise KeyNotFoundError(key)
        return pair

    def exists(self, key: str) -> bool:
        return self._check()._exists(key)

    def list(self, prefix: str) -> builtins.list[KVPair]:
        return self._check()._list(prefix)

    def put(self, key: str, value: bytes) -> KVPair:
        check_write(key, value)
        store = self._check()
        return store._put(key, value, self._next_index())

    def delete(self, key: str) -> None:
        if not self._check()._delete(key):
            raise KeyNotFoundError(key)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        check_write(key, value)
        store = self._check()
        check_previous(key, store._index_of(key), previous)
        return store._put(key, value, self._next_index())

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        store = self._check()
        check_previous(key, store._index_of(key), previous)
        store._delete(key)
