"""Kernel tests in throwaway namespaces: every test body runs in a forked child process.

How the host stays untouched: for each test, pytest's process forks; the child calls
``unshare(CLONE_NEWNET | CLONE_NEWNS)`` (through ctypes before Python 3.12), makes every mount
private (``mount --make-rprivate /``), mounts a tmpfs on ``/run/netns``, and only then runs
the test function. Bridges, veth pairs, rules, routes and the namespaces libnet creates
under ``/run/netns`` all live in the child's namespaces and vanish with it, whether the test
passed or not. The pytest process itself never changes namespace, so the tests that run
after these see the machine as it was.

Fixtures run in pytest's process (use them for plain values such as ``tmp_path``); the test
function runs in the child, so everything touching the kernel belongs in the test body. The
child reports its outcome through a pipe: a failure shows the child's traceback, and
``pytest.skip`` in the child skips the test.

Without root, without pyroute2, or where namespaces cannot be made (a container without
CAP_SYS_ADMIN), every test here is skipped with the reason.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest

TIMEOUT = 120.0
"""Seconds one test may run in its child before it is killed and reported as failed."""

_reason: str | None = None
_probed = False


def enter_throwaway_namespaces() -> None:
    """Move this (forked, single-threaded) process into new network and mount namespaces."""
    from libnet.osl import _sys

    _sys.unshare(_sys.CLONE_NEWNET | _sys.CLONE_NEWNS)
    _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_PRIVATE)
    if os.path.isdir("/run/netns"):
        _sys.mount("tmpfs", "/run/netns", "tmpfs", 0)
    else:  # never create /run/netns on the host: hide /run behind a private tmpfs instead
        _sys.mount("tmpfs", "/run", "tmpfs", 0)
        os.mkdir("/run/netns")
    from libnet.osl import rtnl

    with rtnl.rtnl() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def unavailable_reason() -> str | None:
    """Why these tests cannot run here, or None. Probed once, in a forked child."""
    global _reason, _probed
    if _probed:
        return _reason
    _probed = True
    if sys.platform != "linux":
        _reason = "network namespaces need Linux"
    elif os.geteuid() != 0:
        _reason = "needs root: the tests create network namespaces, bridges and veth pairs"
    else:
        try:
            import pyroute2  # noqa: F401
        except ImportError:
            _reason = "pyroute2 is not installed"
    if _reason is None:
        outcome = run_forked(lambda: None)
        if outcome["status"] != "passed":
            _reason = f"cannot make throwaway namespaces here: {outcome['text'].strip()[-300:]}"
    return _reason


def run_forked(fn: Callable[[], Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """Run ``fn`` in a forked child inside throwaway namespaces; return its outcome."""
    from libnet.osl import _sys

    _sys.libc()  # loaded in the parent: the child never loads a library
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read_fd)
            try:
                enter_throwaway_namespaces()
                fn()
                outcome = {"status": "passed", "text": ""}
            except pytest.skip.Exception as exc:
                outcome = {"status": "skipped", "text": str(exc.msg)}
            except BaseException as exc:
                outcome = {
                    "status": "failed",
                    "text": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                }
            data = json.dumps(outcome).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view) :]
        except BaseException:
            code = 70
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except OSError as exc:
                if exc.errno != errno.EINTR:
                    raise
    if timed_out:
        return {"status": "failed", "text": f"the test's child ran over {timeout:g} s: killed"}
    if not chunks:
        return {"status": "failed", "text": f"the test's child died (wait status {status})"}
    result: dict[str, Any] = json.loads(b"".join(chunks))
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool:
    """Run the test function in a forked child inside throwaway namespaces."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    outcome = run_forked(lambda: pyfuncitem.obj(**kwargs))
    if outcome["status"] == "skipped":
        pytest.skip(outcome["text"])
    if outcome["status"] == "failed":
        pytest.fail("in the test's namespace child:\n" + outcome["text"], pytrace=False)
    return True


@pytest.fixture(autouse=True)
def _needs_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip before any fixture work where the tests cannot run; no libnet settings leak in."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    for name in list(os.environ):
        if name.startswith("LIBNET_"):
            monkeypatch.delenv(name)
