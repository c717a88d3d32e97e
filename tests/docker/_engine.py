"""The Docker Engine of the tests: a private dockerd, cleaned up, and a busybox image.

Independent of libnet: only the standard library. The daemon itself is started by
``benchmarks/_dockerd.py`` (``private_dockerd``: its own data root, exec root, API socket and
pid file in a fresh temporary directory; ``--iptables=false --ip6tables=false --bridge=none``),
the one implementation the benchmarks use too. :class:`DockerEngine` adds what tests need:

* more flags that keep the host as it was: ``--ip-forward=false --ip-masq=false
  --userland-proxy=false``, and ``--config-file`` naming this folder's empty ``daemon.json``
  so that a host's ``/etc/docker/daemon.json`` cannot change or break the daemon;
* a stop that first removes every container (without the 10 s stop timeout) and the networks
  of Docker's ``bridge`` driver (whose Linux bridges would outlive the daemon), then, after
  the daemon exits, kills any process and unmounts anything still under its directory
  (container shims, overlay layers, network namespaces), and deletes leftover bridges;
  :meth:`DockerEngine.leftovers` says what remains (nothing, normally);
* the docker client with a private ``DOCKER_CONFIG`` and no ``DOCKER_*`` variables;
* a busybox image imported from Debian's static busybox, as images cannot be pulled here.

Plugins are the exception to privacy: Docker looks for legacy plugin sockets in
``/run/docker/plugins`` whatever the exec root, so a test serving one picks a unique name.

Usage::

    with DockerEngine() as engine:
        image = import_busybox(engine)
        print(engine.docker("run", "--rm", image, "ip", "addr").stdout)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from io import BytesIO
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
DOCKERD_PY = HERE.parents[1] / "benchmarks" / "_dockerd.py"
DAEMON_JSON = HERE / "daemon.json"
EXTRA_FLAGS: tuple[str, ...] = (
    "--ip-forward=false",
    "--ip-masq=false",
    "--userland-proxy=false",
    "--config-file",
    str(DAEMON_JSON),
)
"""Added to ``_dockerd.DAEMON_ARGS`` (``--iptables=false --ip6tables=false --bridge=none``)."""

BUSYBOX_IMAGE = "libnet-busybox:latest"
PLUGIN_DIR = Path("/run/docker/plugins")
"""Where Docker finds legacy plugin sockets (hard-coded in Docker's pkg/plugins)."""


class EngineUnavailable(RuntimeError):
    """The private engine cannot run here; the message says why (a skip reason)."""


def _load_dockerd() -> ModuleType:
    """``benchmarks/_dockerd.py``, imported by path (``benchmarks`` is not a package)."""
    spec = importlib.util.spec_from_file_location("libnet_private_dockerd", DOCKERD_PY)
    if spec is None or spec.loader is None:
        raise EngineUnavailable(f"cannot load {DOCKERD_PY}")
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def unavailable_reason() -> str | None:
    """Why a private dockerd cannot run on this machine, or None if it may."""
    if not sys.platform.startswith("linux"):
        return f"a private dockerd needs Linux, not {sys.platform}"
    if not DOCKERD_PY.is_file():
        return f"{DOCKERD_PY} is missing"
    reason: str | None = _load_dockerd().unavailable_reason()
    if reason and "root" in reason:
        reason += " (run the tests as root, as .ci/run does)"
    return reason


def _mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` in this mount namespace, deepest first."""
    prefix = str(root).rstrip("/")
    found: list[str] = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


def _processes_mentioning(root: Path) -> list[int]:
    """PIDs whose command line names a path under ``root`` (dockerd, containerd, shims)."""
    needle = str(root).encode()
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
            state = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmdline and state != "Z":
            pids.append(int(entry))
    return pids


def sweep_stale_engines() -> list[Path]:
    """Unmount and delete the directories of private engines whose daemon is gone.

    ``private_dockerd`` makes its directories as ``$TMPDIR/libnet-dockerd-*``; one whose
    dockerd exited early (a failed start) can keep its data root mounted, which the
    directory's removal cannot undo. A directory some process still names is left alone.
    """
    base = Path(tempfile.gettempdir())
    roots: set[Path] = set()
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            mounted = Path(line.split()[4].replace("\\040", " "))
            if mounted.parent == base or base not in mounted.parents:
                continue
            top = base / mounted.relative_to(base).parts[0]
            if top.name.startswith("libnet-dockerd-"):
                roots.add(top)
    swept: list[Path] = []
    for root in sorted(roots):
        if _processes_mentioning(root):
            continue
        for point in _mounts_under(root):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept


class DockerEngine:
    """A private dockerd (see the module's docstring); ``with DockerEngine() as engine:``.

    ``start`` returns once the API answers, or raises :class:`EngineUnavailable` with the
    daemon's log tail; ``stop`` (also on leaving the ``with`` block) stops it and removes
    everything it left.
    """

    def __init__(self, *, start_timeout: float = 60.0, stop_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._cm: AbstractContextManager[Any] | None = None
        self._engine: Any = None
        self.root: Path | None = None
        self.startup_seconds: float | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> DockerEngine:
        reason = unavailable_reason()
        if reason:
            raise EngineUnavailable(reason)
        dockerd = _load_dockerd()
        self.flags = (*dockerd.DAEMON_ARGS, *EXTRA_FLAGS)
        begin = time.monotonic()
        cm = dockerd.private_dockerd(
            start_timeout=self.start_timeout,
            stop_timeout=self.stop_timeout,
            extra_args=EXTRA_FLAGS,
        )
        try:
            self._engine = cm.__enter__()
        except dockerd.DockerdError as exc:
            sweep_stale_engines()  # a daemon that failed early leaves its data root mounted
            raise EngineUnavailable(str(exc)) from None
        self._cm = cm
        self.root = Path(self._engine.root)
        self.startup_seconds = time.monotonic() - begin
        return self

    @property
    def socket(self) -> Path:
        return Path(self._engine.socket)

    @property
    def host(self) -> str:
        return str(self._engine.host)

    @property
    def version(self) -> str:
        return str(self._engine.version)

    def stop(self) -> None:
        """Remove containers and bridge networks, stop dockerd, clean up what is left."""
        cm, self._cm = self._cm, None
        if cm is None:
            return
        bridges: list[str] = []
        try:
            bridges = self._remove_objects()
        finally:
            cm.__exit__(None, None, None)
            self._cleanup(bridges)

    def _remove_objects(self) -> list[str]:
        """Remove all containers (no stop timeout) and the networks of Docker's own bridge
        driver, whose Linux bridges would outlive the daemon; return those bridges' names.

        Networks of other drivers are left alone: removing one whose plugin is gone makes
        Docker retry for many seconds, and their host state belongs to the plugin.
        """
        ids = self.docker("ps", "-aq", check=False, timeout=30).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False, timeout=60)
        listed = self.docker(
            "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge", check=False
        ).stdout.split()
        if listed:
            self.docker("network", "rm", *listed, check=False, timeout=60)
        return [f"br-{nid[:12]}" for nid in listed]

    def _cleanup(self, bridges: Sequence[str]) -> None:
        assert self.root is not None
        for pid in _processes_mentioning(self.root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for bridge in bridges:
            if Path("/sys/class/net", bridge).exists():
                subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
        for point in _mounts_under(self.root):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """What of this engine is still there: processes, mounts, its directory."""
        if self.root is None:
            return []
        out = [f"process {pid}" for pid in _processes_mentioning(self.root)]
        out += [f"mount {point}" for point in _mounts_under(self.root)]
        if self.root.exists():
            out.append(f"directory {self.root}")
        return out

    def running(self) -> bool:
        return self._cm is not None and bool(_processes_mentioning(self.root or Path("/-")))

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self._engine.log).read_text(errors="replace")
        except (OSError, AttributeError) as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> DockerEngine:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the client ----------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment for the docker client: this engine, no user config or context."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(Path(self._engine.root) / "client")
        return env

    def docker(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker ARGS`` against this engine; with ``check``, fail with its stderr."""
        raw = subprocess.run(
            [self._engine.docker, *args],
            env=self.env(),
            input=input if input is not None else b"",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        proc = subprocess.CompletedProcess(
            raw.args,
            raw.returncode,
            raw.stdout.decode(errors="replace"),
            raw.stderr.decode(errors="replace"),
        )
        if check and proc.returncode != 0:
            raise DockerCommandError(args, proc)
        return proc


class DockerCommandError(AssertionError):
    """A docker command failed; the message has the command, status and stderr."""

    def __init__(self, args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> None:
        self.proc = proc
        super().__init__(
            f"docker {' '.join(args)} exited with {proc.returncode}\n"
            f"stderr: {proc.stderr.strip()}\nstdout: {proc.stdout.strip()[-2000:]}"
        )


# -- a busybox image, no registry ----------------------------------------------------------


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (statically linked)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
            return False
        endian = "<" if head[5] == 1 else ">"
        phoff = struct.unpack_from(endian + "Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        (p_type,) = struct.unpack_from(endian + "I", table, i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def find_static_busybox() -> Path | None:
    """Debian's static busybox (``busybox-static``), or None."""
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and Path(candidate).is_file() and _is_static_elf(Path(candidate)):
            return Path(candidate).resolve()
    return None


def busybox_rootfs(busybox: Path) -> bytes:
    """A root filesystem tarball: the static busybox and a symlink per applet."""
    listed = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=True
    ).stdout.split()
    buf = BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, BytesIO(data))

        for name in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc"):
            add_dir(name)
        for name in ("sys", "root", "var", "run"):
            add_dir(name)
        add_dir("tmp", 0o1777)
        add_file("bin/busybox", busybox.read_bytes(), 0o755)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        add_file("etc/group", b"root:x:0:\n")
        for applet in listed:
            if applet in ("bin/busybox",) or "/" not in applet:
                continue
            info = tarfile.TarInfo(applet)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, "/bin/busybox", now
            info.mode = 0o777
            tar.addfile(info)
    return buf.getvalue()


def import_busybox(engine: DockerEngine, tag: str = BUSYBOX_IMAGE) -> str:
    """``docker import`` a busybox root filesystem as ``tag`` (CMD /bin/sh); return the tag."""
    busybox = find_static_busybox()
    if busybox is None:
        raise EngineUnavailable("no static busybox (apt-get install busybox-static)")
    engine.docker("import", "--change", 'CMD ["/bin/sh"]', "-", tag, input=busybox_rootfs(busybox))
    return tag
