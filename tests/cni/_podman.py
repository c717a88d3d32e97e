"""A private Podman (CNI backend) for the tests and the benchmark: its own containers.conf,
storage, run root and CNI folders, the flags it needs on these machines, and a busybox
image imported from Debian's static busybox. Only the standard library."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

ENGINE_PY = Path(__file__).resolve().parents[1] / "docker" / "_engine.py"
IMAGE = "localhost/libnet-busybox:latest"
HOST_CACHES = (Path("/var/lib/cni"), Path("/var/lib/containers"))
"""Where Podman 4.3 writes whatever its root says: libcni's result cache and the image
library's blob-info cache. No setting moves them, so the engine removes those it made."""
RUN_FLAGS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
"""What ``podman run`` needs on these machines."""


def _engine() -> ModuleType:
    """tests/docker/_engine.py, for its busybox root filesystem (imported by path)."""
    spec = importlib.util.spec_from_file_location("libnet_cni_docker_engine", ENGINE_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unavailable() -> str | None:
    if shutil.which("podman") is None:
        return "needs podman (apt-get install podman)"
    if _engine().find_static_busybox() is None:
        return "needs a static busybox (apt-get install busybox-static)"
    return None


class Podman:
    """``podman`` with private state in ``root``, run in namespace ``netns`` (a path), so
    the bridges and rules of its CNI plugins stay there. Networks are conflists written to
    ``root/net.d``; ``root/plugins`` holds extra plugins (before /usr/lib/cni)."""

    def __init__(self, root: Path, netns: str) -> None:
        self.root, self.netns = root, netns
        self._made = [path for path in HOST_CACHES if not path.exists()]
        self.net_d, self.plugins = root / "net.d", root / "plugins"
        for folder in (self.net_d, self.plugins, root / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        self.conf = root / "containers.conf"
        self.conf.write_text(
            "[network]\n"
            'network_backend = "cni"\n'
            f'cni_plugin_dirs = ["{self.plugins}", "/usr/lib/cni"]\n'
            f'network_config_dir = "{self.net_d}"\n'
            "[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "none"\n'
            f'tmp_dir = "{root / "tmp"}"\n'
        )

    def argv(self, *args: str) -> list[str]:
        return [
            "nsenter", f"--net={self.netns}",
            "env", f"CONTAINERS_CONF={self.conf}",
            "podman", "--root", str(self.root / "storage"), "--runroot", str(self.root / "run"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            *args,
        ]  # fmt: skip

    def __call__(
        self, *args: str, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(self.argv(*args), capture_output=True, input=input, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {proc.stderr.decode()}")
        return proc

    def text(self, *args: str) -> str:
        return self(*args).stdout.decode().strip()

    def import_busybox(self) -> str:
        engine = _engine()
        rootfs = engine.busybox_rootfs(engine.find_static_busybox())
        self("import", "--change", 'CMD ["/bin/sh"]', "-", IMAGE, input=rootfs)
        return IMAGE

    def network(self, name: str, plugins: list[dict[str, Any]]) -> Path:
        """Write a conflist: podman sees it as network ``name``."""
        path = self.net_d / f"{name}.conflist"
        path.write_text(json.dumps({"cniVersion": "1.0.0", "name": name, "plugins": plugins}))
        return path

    def ip(self, container: str, network: str) -> str:
        data = json.loads(self.text("inspect", container))
        return str(data[0]["NetworkSettings"]["Networks"][network]["IPAddress"])

    def close(self) -> None:
        self("rm", "--all", "--force", "--time", "0", check=False)
        self("rmi", "--all", "--force", check=False)
        for path in self._made:
            shutil.rmtree(path, ignore_errors=True)
