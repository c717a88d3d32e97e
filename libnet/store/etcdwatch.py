"""An etcd watch over the JSON gateway: a reader thread that resumes on another member.

The thread holds one ``/v3/watch`` stream (``prev_kv``, from the revision after the last
event it queued) and puts the events it reads in a queue that :meth:`EtcdWatch.next` drains.
When the stream ends (the member died, or ``IDLE`` seconds passed without a message) it
opens another, on the next member if that one gave nothing, from where it left off, so a
leader's death loses no event. When etcd says the revision was compacted, ``next`` raises
StoreCompactedError (the caller lists again).
"""

from __future__ import annotations

import builtins
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from libnet.errors import StoreCompactedError, StoreError
from libnet.store._etcdgw import Gateway, b64, num, unb64
from libnet.store.watch import DELETE, PUT, Watch, WatchEvent

__all__ = ["IDLE", "EtcdWatch"]

IDLE = 5.0
"""Seconds without a message after which a stream is opened again (it may be stuck on a
member cut off from its cluster)."""
_RETRY = 0.1


class EtcdWatch(Watch):
    """Changes between raw keys ``start`` and ``end`` after revision ``after``."""

    def __init__(
        self, gw: Gateway, start: bytes, end: bytes, after: int, key: Callable[[bytes], str]
    ) -> None:
        self._gw = gw
        self._start, self._end = start, end
        self._key = key
        self.revision = after
        self._read = after  # revision of the last event queued by the thread
        self._queue: list[WatchEvent] = []
        self._error: StoreError | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._conn: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, name="libnet-etcd-watch", daemon=True)
        self._thread.start()

    def next(self, timeout: float) -> builtins.list[WatchEvent]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._queue and self._error is None and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
            events, self._queue = self._queue, []
            if events:
                self.revision = events[-1].revision
                return events
            if self._error is not None:
                raise self._error
        return []

    def close(self) -> None:
        with self._cond:
            self._closed = True
            conn = self._conn
            self._cond.notify_all()
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)

    # The reader thread.

    def _run(self) -> None:
        member = self._gw._current
        while not self._closed:
            got = False
            try:
                got = self._stream(member)
            except StoreError as e:
                with self._cond:
                    self._error = e
                    self._cond.notify_all()
                return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if not got:
                member += 1
                time.sleep(_RETRY)

    def _stream(self, member: int) -> bool:
        """Read one stream until it ends; whether the member answered at all."""
        create: dict[str, Any] = {
            "key": b64(self._start),
            "range_end": b64(self._end),
            "start_revision": str(self._read + 1),
            "prev_kv": True,
        }
        conn, response = self._gw.open_stream(member, "watch", {"create_request": create}, IDLE)
        with self._cond:
            if self._closed:
                conn.close()
                return True
            self._conn = conn
        answered = False
        try:
            while not self._closed:
                try:
                    line = response.readline()
                except TimeoutError:
                    return answered
                if not line:
                    return answered
                if not line.strip():
                    continue
                answered = True
                message = json.loads(line)
                if "error" in message:
                    return answered
                self._take(message.get("result") or {})
            return True
        finally:
            with self._cond:
                self._conn = None
            conn.close()

    def _take(self, result: dict[str, Any]) -> None:
        compacted = num(result, "compact_revision")
        if compacted:
            raise StoreCompactedError(
                f"etcd compacted the revisions after {self._read} (it keeps {compacted} on): "
                "list the prefix again and watch from there",
                compacted,
            )
        events = []
        for raw in result.get("events") or []:
            kv = raw.get("kv") or {}
            prev = raw.get("prev_kv")
            revision = num(kv, "mod_revision")
            if revision <= self._read:
                continue  # a resumed stream repeating what was queued
            deleted = raw.get("type") == "DELETE"
            events.append(
                WatchEvent(
                    DELETE if deleted else PUT,
                    self._key(unb64(kv.get("key"))),
                    b"" if deleted else unb64(kv.get("value")),
                    None if prev is None else unb64(prev.get("value")),
                    revision,
                )
            )
        if events:
            with self._cond:
                self._queue.extend(events)
                self._read = events[-1].revision
                self._cond.notify_all()
