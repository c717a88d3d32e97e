"""A read-only snapshot of a SQLite state file, for commands that only read.

``libnet network ls`` and ``inspect`` must work for a user who may read the state but not
write it (a root-owned ``/var/lib/libnet``), and must never create or change a file.
:func:`open_snapshot` reads every key in one read transaction and serves reads from
memory; any write raises :class:`~libnet.errors.StoreReadOnlyError`.

WAL mode needs care: a reader uses the ``-shm`` file beside the database, which it may
not be allowed to create. A user who may write the directory reads through an ordinary
connection (SQLite's locks; nothing is left behind); others open it with ``mode=ro``,
enough whenever the ``-shm`` file exists (a writer has the file open). Failing that, no
process has the database open, and the file is copied instead: the copy counts only if no
``-wal`` file existed before and after and two reads of the file agree, so a writer that
started meanwhile makes it try again and a torn state is never returned.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import quote

from libnet.errors import StoreCorruptError, StoreError, StoreReadOnlyError
from libnet.store._api import Encodable, KVPair, Transaction
from libnet.store.memory import MemoryStore
from libnet.store.sqlite import check_schema, db_path

__all__ = ["ReadOnlyStore", "open_snapshot"]

_ATTEMPTS = 20


class ReadOnlyStore(MemoryStore):
    """The keys of a state file as they were when read; writes are refused."""

    __slots__ = ("path",)

    @property
    def durable(self) -> bool:
        """True: a snapshot of a state file (its intents are real ones)."""
        return True

    def __init__(self, path: Path, pairs: list[KVPair]) -> None:
        super().__init__()
        self.path = path
        for pair in pairs:
            self._set(pair)
        self._index = max((pair.index for pair in pairs), default=0)

    def _refuse(self) -> StoreReadOnlyError:
        return StoreReadOnlyError(
            f"state file {self.path} was opened read-only by a command that only reads; "
            "this is a bug in that command"
        )

    def put(self, key: str, value: bytes) -> KVPair:
        raise self._refuse()

    def put_object(self, key: str, value: Encodable) -> KVPair:
        raise self._refuse()

    def delete(self, key: str) -> None:
        raise self._refuse()

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        raise self._refuse()

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        raise self._refuse()

    def transaction(self) -> Transaction:
        raise self._refuse()


def open_snapshot(state: str | os.PathLike[str]) -> ReadOnlyStore:
    """Every key of the state file in ``state`` (a directory or a ``.db`` file), read once.

    A missing file is an empty state (nothing is created), unless a file stands where a
    directory of its path should be. A file that is not a libnet
    state file, or that cannot be read, is an error naming it.
    """
    path = db_path(Path(state))
    if not path.exists():
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise StoreError(
                f"state directory {path.parent} cannot exist: {blocker} is a file, not a "
                "directory; point --state-dir (or LIBNET_STATE_DIR) elsewhere"
            )
        return ReadOnlyStore(path, [])
    if not os.access(path, os.R_OK):
        raise StoreError(
            f"state file {path} is not readable by this user (uid {os.geteuid()}): run as "
            "a user who may read it, or fix its permissions"
        )
    if path.stat().st_size == 0:
        raise StoreError(
            f"state file {path} is empty; libnet never leaves its state file empty, so "
            "something else made or truncated it"
        )
    # Who may write the directory reads as a writer would (SQLite's locks; the last
    # connection removes the -wal and -shm files), but never writes.
    mode = "rw" if os.access(path.parent, os.W_OK) and os.access(path, os.W_OK) else "ro"
    try:
        return ReadOnlyStore(path, _read(_uri(path, mode), path))
    except sqlite3.OperationalError as e:
        if mode == "rw":  # "ro" fails ("readonly", "unable to open") without a -shm file
            raise StoreError(f"cannot read state file {path}: {e}") from e
    except sqlite3.DatabaseError as e:  # SQLITE_CORRUPT, SQLITE_NOTADB
        raise _corrupt(path, e) from e
    for _ in range(_ATTEMPTS):  # no -shm can be made: copy the file while no writer is on
        try:
            pairs = _copy(path)
        except sqlite3.DatabaseError as e:
            raise _corrupt(path, e) from e
        if pairs is not None:
            return ReadOnlyStore(path, pairs)
        time.sleep(0.05)
    raise StoreError(
        f"state file {path} is being written by another process and cannot be read "
        f"consistently without write access to {path.parent}: try again"
    )


def _corrupt(path: Path, error: sqlite3.DatabaseError) -> StoreCorruptError:
    return StoreCorruptError(
        f"state file {path} is not a SQLite database or is corrupt ({error}); the file was "
        "not changed: restore it from a backup or move it away"
    )


def _uri(path: Path, mode: str) -> str:
    return f"file:{quote(str(path))}?mode={mode}"


def _copy(path: Path) -> list[KVPair] | None:
    """The keys of a copy of the file taken while no writer had it open, else None.

    No ``-wal`` file before and after means no writer was connected at either moment; two
    reads of the file that agree mean no checkpoint changed it in between, so the copy is
    one committed state.
    """
    wal = Path(f"{path}-wal")
    if wal.exists():
        return None
    first = path.read_bytes()
    second = path.read_bytes()
    if wal.exists() or first != second:
        return None
    # Header bytes 18-19 say WAL (2); the copy has no WAL: make it a rollback-journal file.
    first = first[:18] + b"\x01\x01" + first[20:]
    if sys.version_info >= (3, 11):
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            conn.deserialize(first)
            return _rows(conn, path)
        finally:
            conn.close()
    import tempfile  # Python 3.10 only: not imported by every read

    with tempfile.NamedTemporaryFile(prefix="libnet-state-", suffix=".db") as copy:
        copy.write(first)
        copy.flush()
        return _read(_uri(Path(copy.name), "ro"), path)


def _read(uri: str, path: Path) -> list[KVPair]:
    """Every key of the state file at ``uri``, in one read transaction."""
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        return _rows(conn, path)
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, path: Path) -> list[KVPair]:
    conn.execute("BEGIN")
    check_schema(conn, path)
    rows = conn.execute("SELECT key, value, idx FROM kv ORDER BY key").fetchall()
    conn.execute("COMMIT")
    return [KVPair(key, bytes(value), idx) for key, value, idx in rows]
