"""The Docker Engine of the tests: a private dockerd with Docker's defaults, and busybox.

Independent of libnet: only the standard library. The daemon itself is started by
``benchmarks/_dockerd.py`` (``private_dockerd``), the one implementation the benchmarks use
too: Docker's **default settings** (iptables on, ``FORWARD`` policy ``DROP``, ``docker0``, IP
forwarding, masquerade, userland proxy), inside a network namespace of its own
(``libnet-dk-<hex>``), with only private paths as flags (data root, exec root, socket, pid
file, an empty ``daemon.json``). Its iptables rules, bridges and sysctls stay in that
namespace: the host's firewall is left as it was (:func:`host_firewall` reads it, to check).
:class:`DockerEngine` adds what tests need:

* an uplink: a veth pair from the daemon's namespace (``uplink0``, :data:`UPLINK_ADDRESS`,
  default route) to a second namespace that stands for the world outside the host
  (``libnet-dkw-<hex>``, the same hex, ``world0``, :data:`WORLD_ADDRESS`, nothing else), so that
  masquerade and published ports can be seen from outside (:meth:`DockerEngine.in_world`);
* :meth:`DockerEngine.in_netns` and :meth:`DockerEngine.netns_run`: a command in the
  daemon's namespace, where a plugin serving Docker must run (its bridges must be where the
  containers are) and where Docker's and libnet's links and rules are;
* :meth:`DockerEngine.bridge_netfilter`: whether bridged traffic passes iptables there
  (``br_netfilter``; it may be built in, loaded, or missing where ``modprobe`` cannot run);
* a stop that first removes every container (without the 10 s stop timeout), then stops the
  daemon, kills any process still naming its directory or in its namespaces (container
  shims), unmounts anything under its directory and deletes both namespaces, with every link
  in them; :meth:`DockerEngine.leftovers` says what remains (nothing, normally);
* the docker client with a private ``DOCKER_CONFIG`` and no ``DOCKER_*`` variables;
* a busybox image imported from Debian's static busybox, as images cannot be pulled here.

Plugins are the exception to privacy: Docker looks for legacy plugin sockets in
``/run/docker/plugins`` (the file system, shared by every network namespace), so a test
serving one picks a unique name.

Usage::

    with DockerEngine() as engine:
        image = import_busybox(engine)
        print(engine.docker("run", "--rm", image, "ip", "addr").stdout)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from io import BytesIO
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
DOCKERD_PY = HERE.parents[1] / "benchmarks" / "_dockerd.py"

BUSYBOX_IMAGE = "libnet-busybox:latest"
PLUGIN_DIR = Path("/run/docker/plugins")
"""Where Docker finds legacy plugin sockets (hard-coded in Docker's pkg/plugins)."""

WORLD_PREFIX = "libnet-dkw-"
"""The world of engine ``libnet-dk-<hex>`` is ``libnet-dkw-<hex>``."""
UPLINK = "uplink0"
UPLINK_ADDRESS = "198.51.100.2"
"""The daemon's namespace on its uplink: the host's address as the world sees it."""
WORLD_ADDRESS = "198.51.100.1"
"""The world's end of the uplink (TEST-NET-2, inside namespaces the tests make)."""
UPLINK_PREFIX = 24
STALE_NETNS_SECONDS = 300.0


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


def host_firewall() -> str:
    """The host's iptables and ip6tables, tables ``filter`` and ``nat``, without counters.

    Read in this process's network namespace; a family whose tools are missing reads empty.
    """
    out: list[str] = []
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool) is None:
            continue
        for table in ("filter", "nat"):
            text = subprocess.run(
                [tool, "-t", table], capture_output=True, text=True, check=False
            ).stdout
            out.append(f"# {tool} -t {table}")
            out.extend(_without_counters(text))
    return "\n".join(out)


def _without_counters(save: str) -> list[str]:
    """``iptables-save`` lines without comments (dates) and packet counters."""
    lines = []
    for line in save.splitlines():
        if line.startswith("#"):
            continue
        lines.append(re.sub(r" \[\d+:\d+\]$", "", line))
    return lines


def sweep_stale_engines() -> list[Path]:
    """Unmount and delete what private engines whose daemon is gone left behind.

    ``private_dockerd`` makes its directories as ``$TMPDIR/libnet-dockerd-*``; one whose
    dockerd exited early (a failed start) can keep its data root mounted, which the
    directory's removal cannot undo. A directory some process still names is left alone.
    Namespaces of engines (``libnet-dk-*``) that no process is in and that are older than
    :data:`STALE_NETNS_SECONDS` (a killed test run) are deleted, and worlds
    (``libnet-dkw-*``) whose engine's namespace is gone.
    """
    dockerd = _load_dockerd()
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
        if dockerd.processes_mentioning(root):
            continue
        dockerd.reap(root)
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    netns_dir = Path(dockerd.NETNS_DIR)
    for path in sorted(netns_dir.glob(f"{dockerd.NETNS_PREFIX}*")):
        inode = dockerd.netns_inode(path.name)
        with contextlib.suppress(OSError):
            old = time.time() - path.stat().st_mtime > STALE_NETNS_SECONDS
            if inode is not None and old and not dockerd.netns_pids(inode):
                subprocess.run(["ip", "netns", "del", path.name], capture_output=True)
                swept.append(path)
    for path in sorted(netns_dir.glob(f"{WORLD_PREFIX}*")):
        engine = netns_dir / (dockerd.NETNS_PREFIX + path.name.removeprefix(WORLD_PREFIX))
        with contextlib.suppress(OSError):
            old = time.time() - path.stat().st_mtime > STALE_NETNS_SECONDS
            if old and not engine.exists():
                subprocess.run(["ip", "netns", "del", path.name], capture_output=True)
                swept.append(path)
    return swept


class DockerEngine:
    """A private dockerd (see the module's docstring); ``with DockerEngine() as engine:``.

    ``start`` returns once the API answers and the uplink is up, or raises
    :class:`EngineUnavailable` with the daemon's log tail; ``stop`` (also on leaving the
    ``with`` block) stops it and removes everything it left.
    """

    def __init__(self, *, start_timeout: float = 60.0, stop_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._stack: ExitStack | None = None
        self._engine: Any = None
        self.root: Path | None = None
        self.netns = ""
        self.world = ""
        self._inodes: list[int] = []
        self.startup_seconds: float | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> DockerEngine:
        reason = unavailable_reason()
        if reason:
            raise EngineUnavailable(reason)
        dockerd = _load_dockerd()
        begin = time.monotonic()
        with ExitStack() as stack:
            cm: AbstractContextManager[Any] = dockerd.private_dockerd(
                start_timeout=self.start_timeout, stop_timeout=self.stop_timeout
            )
            try:
                self._engine = stack.enter_context(cm)
                self.root = Path(self._engine.root)
                self.netns = self._engine.netns
                world = WORLD_PREFIX + self.netns.removeprefix(dockerd.NETNS_PREFIX)
                self.world = stack.enter_context(dockerd.private_netns(world))
                self._inodes = [dockerd.netns_inode(n) for n in (self.netns, self.world)]
                self._uplink()
            except dockerd.DockerdError as exc:
                sweep_stale_engines()  # a daemon that failed early leaves its data root mounted
                raise EngineUnavailable(str(exc)) from None
            stack.callback(self._remove_containers)  # first, while the daemon runs
            self._stack = stack.pop_all()
        self.startup_seconds = time.monotonic() - begin
        return self

    def _uplink(self) -> None:
        """The veth pair between the daemon's namespace and the world, addresses, route."""
        world, ns = self.world, self.netns
        veth = ["type", "veth", "peer", "name", UPLINK, "netns", ns]
        steps = [
            ["-n", world, "link", "add", "world0", *veth],
            ["-n", world, "addr", "add", f"{WORLD_ADDRESS}/{UPLINK_PREFIX}", "dev", "world0"],
            ["-n", world, "link", "set", "world0", "up"],
            ["-n", ns, "addr", "add", f"{UPLINK_ADDRESS}/{UPLINK_PREFIX}", "dev", UPLINK],
            ["-n", ns, "link", "set", UPLINK, "up"],
            ["-n", ns, "route", "add", "default", "via", WORLD_ADDRESS, "dev", UPLINK],
        ]
        for step in steps:
            done = subprocess.run(["ip", *step], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise _load_dockerd().DockerdError(
                    f"ip {' '.join(step)} failed: {done.stderr.strip()}"
                )

    @property
    def socket(self) -> Path:
        return Path(self._engine.socket)

    @property
    def host(self) -> str:
        return str(self._engine.host)

    @property
    def version(self) -> str:
        return str(self._engine.version)

    @property
    def flags(self) -> tuple[str, ...]:
        """The daemon's command line, from ``dockerd`` on."""
        command: tuple[str, ...] = self._engine.command
        return command[[Path(w).name for w in command].index("dockerd") :]

    def stop(self) -> None:
        """Remove containers, stop dockerd, delete its namespaces, clean up what is left."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def _remove_containers(self) -> None:
        """Remove all containers (no stop timeout), so the daemon stops at once.

        Networks are left: their links go with the namespace, and removing one whose
        plugin is gone makes Docker retry for many seconds.
        """
        ids = self.docker("ps", "-aq", check=False, timeout=30).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False, timeout=60)

    def leftovers(self) -> list[str]:
        """What of this engine is still there: processes, mounts, namespaces, directory."""
        if self.root is None:
            return []
        dockerd = _load_dockerd()
        pids = set(dockerd.processes_mentioning(self.root))
        for inode in self._inodes:
            if inode is not None:
                pids.update(dockerd.netns_pids(inode))
        out = [f"process {pid}" for pid in sorted(pids)]
        out += [f"mount {point}" for point in dockerd.mounts_under(self.root)]
        out += [
            f"network namespace {name}"
            for name in (self.netns, self.world)
            if (Path(dockerd.NETNS_DIR) / name).exists()
        ]
        if self.root.exists():
            out.append(f"directory {self.root}")
        return out

    def running(self) -> bool:
        dockerd = _load_dockerd()
        return self._stack is not None and bool(dockerd.processes_mentioning(self.root))

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

    # -- the namespaces ------------------------------------------------------------------

    def in_netns(self, *argv: str) -> list[str]:
        """The command line running ``ARGV`` in the daemon's network namespace."""
        return list(self._engine.in_netns(*argv))

    def in_world(self, *argv: str) -> list[str]:
        """The command line running ``ARGV`` in the world namespace, outside the host."""
        return ["nsenter", f"--net=/run/netns/{self.world}", *argv]

    def netns_run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``ARGV`` in the daemon's namespace; with ``check``, fail with its output."""
        done = subprocess.run(
            self.in_netns(*argv), capture_output=True, text=True, timeout=60, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} (in {self.netns}) exited with {done.returncode}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done

    def links(self) -> str:
        """``ip -o link`` of the daemon's namespace: one line per link, names and aliases."""
        return self.netns_run("ip", "-o", "link", "show").stdout

    def link_exists(self, name: str) -> bool:
        return self.netns_run("ip", "link", "show", "dev", name, check=False).returncode == 0

    def firewall(self) -> str:
        """``iptables-save`` (filter and nat, no counters) of the daemon's namespace."""
        out = []
        for table in ("filter", "nat"):
            out += _without_counters(self.netns_run("iptables-save", "-t", table).stdout)
        return "\n".join(out)

    def sysctl(self, name: str) -> str | None:
        """``/proc/sys/NAME`` (dots or slashes) in the daemon's namespace, or None."""
        path = "/proc/sys/" + name.replace(".", "/")
        done = self.netns_run("cat", path, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def bridge_netfilter(self) -> str | None:
        """Why bridged traffic does not pass iptables in the daemon's namespace, or None.

        It does when ``br_netfilter`` is loaded (or built in) and
        ``net.bridge.bridge-nf-call-iptables`` is 1: then the ``FORWARD`` chain sees even
        traffic between two ports of one bridge, as on a Docker host.
        """
        value = self.sysctl("net.bridge.bridge-nf-call-iptables")
        if value is None:
            how = "modprobe br_netfilter" if shutil.which("modprobe") else "no modprobe here"
            return f"br_netfilter is not loaded ({how}): bridged traffic bypasses iptables"
        if value != "1":
            return f"net.bridge.bridge-nf-call-iptables is {value}"
        return None

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
