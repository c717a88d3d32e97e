"""Per-object locks beside a store: who may change a network or sandbox right now.

An operation holds the locks of the objects it changes while its drivers run, instead of
a store-wide write transaction (see ARCHITECTURE.md, "Locks and intents"). A lock is
*shared* or *exclusive*; every operation holds the ``all`` lock shared, and
reconciliation holds it exclusive. Two implementations:

* :class:`ThreadLocks`, for stores that live in one process (``MemoryStore``);
* :class:`FileLocks`, ``flock(2)`` on one file per object under the state directory, for
  stores shared between processes (``SqliteStore``). The kernel releases a dead process's
  locks, so a lock is never stale; the file records who holds it, for error messages.

A distributed store gives a lease-backed lock per object instead (the lease expires
with its holder), with the same interface.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libnet.errors import LockTimeoutError, StoreError
from libnet.store.lock import StoreLock

__all__ = ["ALL", "FileLocks", "Holder", "Locks", "ThreadLocks", "this_process"]

ALL = "all"
"""Held shared by every operation, exclusive by reconciliation."""

_RECORD = 512
"""Bytes of the holder record at the start of a lock file."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds (or last held) a lock."""

    pid: int
    command: str
    since: float
    """time.time() when it was taken."""

    def describe(self) -> str:
        return f"process {self.pid} ({self.command})"

    def encode(self) -> bytes:
        """Always :data:`_RECORD` bytes (padded), so a lock file never needs truncating."""
        data = f"{self.pid}\n{self.since}\n{self.command}\n".encode()[: _RECORD - 1]
        return data.ljust(_RECORD, b" ")

    @classmethod
    def decode(cls, data: bytes) -> Holder | None:
        try:
            pid, since, command = data.decode(errors="replace").split("\n", 2)
            return cls(int(pid), command.strip().split("\n")[0], float(since))
        except ValueError:
            return None


_COMMAND: list[str] = []


def this_process() -> Holder:
    """This process as a lock holder: its pid and command line."""
    if not _COMMAND:
        words = (os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        _COMMAND.append(" ".join(words)[:200] or "python")
    return Holder(os.getpid(), _COMMAND[0], time.time())


class Locks(ABC):
    """Named locks, each shared or exclusive; taken all at once, in name order."""

    @abstractmethod
    def acquire(self, names: Mapping[str, bool], what: Mapping[str, str], timeout: float) -> Held:
        """Take every lock of ``names`` (name -> exclusive?), waiting up to ``timeout``
        seconds each; LockTimeoutError names the object (``what[name]``) and its holder."""

    @abstractmethod
    def try_acquire(self, names: Mapping[str, bool]) -> Held | None:
        """Take every lock of ``names`` now, or none (None) if one is held."""


class Held(ABC):
    """Locks taken together; :meth:`release` gives them all back (idempotent)."""

    @abstractmethod
    def release(self, discard: frozenset[str] = frozenset()) -> None:
        """Release; ``discard`` names locks whose object is gone (their files may go)."""

    @property
    def fences(self) -> Sequence[StoreLock]:
        """The fenced locks among these: a store's commits made while they are held can be
        fenced by them (``EtcdStore.transaction(fence=...)``); none for local locks."""
        return ()

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _order(names: Mapping[str, bool]) -> list[tuple[str, bool]]:
    """Lock order: ``all`` first, then by name; the same everywhere, so no deadlock."""
    return sorted(names.items(), key=lambda item: (item[0] != ALL, item[0]))


def _timeout_error(
    name: str, what: Mapping[str, str], holder: Holder | None, timeout: float
) -> LockTimeoutError:
    thing = what.get(name, name)
    who = holder.describe() if holder is not None else "another operation"
    held = f", held since {time.time() - holder.since:.0f} s ago" if holder is not None else ""
    return LockTimeoutError(
        f"{thing} is busy: {who} has been changing it for more than {timeout:g} s{held}; "
        "try again once it is done (a plugin it waits for may be hanging)"
    )


# -- in one process ------------------------------------------------------------------------


class ThreadLocks(Locks):
    """Locks between the threads of one process (a store living in memory).

    One condition guards the state of every lock, and a lock exists only while it is held
    (its entry goes with its last holder): the names of objects long deleted keep nothing.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held: dict[str, list[Any]] = {}
        """Lock name -> [holders sharing it, time.time() it was taken exclusive or None]."""
        self._waiting = 0  # threads waiting for a lock

    def _take(
        self, names: Mapping[str, bool], timeout: float, what: Mapping[str, str]
    ) -> Held | None:
        taken: list[tuple[str, bool]] = []
        held = self._held
        deadline = None
        with self._cond:
            for name, exclusive in _order(names):
                while (entry := held.get(name)) is not None and (entry[1] is not None or exclusive):
                    if deadline is None:
                        deadline = time.monotonic() + timeout
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._give(taken)
                        if not timeout:
                            return None
                        since = entry[1]
                        holder = None if since is None else _holder(since)
                        raise _timeout_error(name, what, holder, timeout)
                    self._waiting += 1
                    try:
                        self._cond.wait(left)
                    finally:
                        self._waiting -= 1
                if exclusive:
                    held[name] = [0, time.time()]
                elif entry is None:
                    held[name] = [1, None]
                else:
                    entry[0] += 1
                taken.append((name, exclusive))
        return _ThreadHeld(self, taken)

    def _give(self, taken: list[tuple[str, bool]]) -> None:
        """Release ``taken`` (the condition held)."""
        held = self._held
        for name, exclusive in reversed(taken):
            entry = held[name]
            if exclusive or entry[0] == 1:
                del held[name]
            else:
                entry[0] -= 1
        if self._waiting:
            self._cond.notify_all()

    def acquire(self, names: Mapping[str, bool], what: Mapping[str, str], timeout: float) -> Held:
        held = self._take(names, timeout, what)
        assert held is not None
        return held

    def try_acquire(self, names: Mapping[str, bool]) -> Held | None:
        return self._take(names, 0.0, {})

    def held(self) -> int:
        """How many locks are held now (each name counts once)."""
        with self._cond:
            return len(self._held)


def _holder(since: float) -> Holder:
    """This process as the holder of a lock taken exclusive at ``since``."""
    me = this_process()
    return Holder(me.pid, me.command, since)


class _ThreadHeld(Held):
    __slots__ = ("_locks", "_taken")

    def __init__(self, locks: ThreadLocks, taken: list[tuple[str, bool]]) -> None:
        self._locks = locks
        self._taken = taken

    def release(self, discard: frozenset[str] = frozenset()) -> None:
        taken, self._taken = self._taken, []
        if taken:
            with self._locks._cond:
                self._locks._give(taken)


# -- between processes ---------------------------------------------------------------------


class FileLocks(Locks):
    """``flock(2)`` locks, one file per name in ``directory`` (made with mode 0700).

    The file of an exclusive lock records its holder. A lock whose object is gone has its
    file removed by the last holder; a waiter that got the lock on a removed file sees the
    path now names another file (or none) and takes it again.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._prefix = os.fspath(directory) + "/"

    def _path(self, name: str) -> str:
        return self._prefix + name

    def _open(self, name: str) -> int:
        path = self._path(name)
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise StoreError(f"cannot open lock file {path}: {e.strerror or e}") from e

    def _holder(self, name: str) -> Holder | None:
        try:
            with open(self._path(name), "rb") as file:
                return Holder.decode(file.read(_RECORD))
        except OSError:
            return None

    def _take_one(self, name: str, exclusive: bool, deadline: float) -> int | None:
        op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        pause = 0.0005
        while True:
            fd = self._open(name)
            try:
                while True:
                    try:
                        fcntl.flock(fd, op)
                        break
                    except OSError as e:
                        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                            raise StoreError(f"cannot lock {self._path(name)}: {e}") from e
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        return None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.02)
                # The file may have been removed (its object deleted) while we waited.
                try:
                    same = os.stat(self._path(name)).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    if exclusive:
                        os.pwrite(fd, this_process().encode(), 0)
                    return fd
                os.close(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise

    def _take(
        self, names: Mapping[str, bool], timeout: float, what: Mapping[str, str]
    ) -> Held | None:
        taken: list[tuple[str, int]] = []
        deadline = time.monotonic() + timeout
        try:
            for name, exclusive in _order(names):
                fd = self._take_one(name, exclusive, deadline)
                if fd is None:
                    _FileHeld(self, taken).release()
                    if not timeout:
                        return None
                    raise _timeout_error(name, what, self._holder(name), timeout)
                taken.append((name, fd))
        except BaseException:
            _FileHeld(self, taken).release()
            raise
        return _FileHeld(self, taken)

    def acquire(self, names: Mapping[str, bool], what: Mapping[str, str], timeout: float) -> Held:
        held = self._take(names, timeout, what)
        assert held is not None
        return held

    def try_acquire(self, names: Mapping[str, bool]) -> Held | None:
        return self._take(names, 0.0, {})


class _FileHeld(Held):
    def __init__(self, locks: FileLocks, taken: list[tuple[str, int]]) -> None:
        self._locks = locks
        self._taken = taken

    def release(self, discard: frozenset[str] = frozenset()) -> None:
        taken, self._taken = self._taken, []
        for name, fd in reversed(taken):
            if name in discard:
                with contextlib.suppress(OSError):
                    os.unlink(self._locks._path(name))
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the last descriptor releases the flock
