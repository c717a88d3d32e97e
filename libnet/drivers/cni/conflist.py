"""A network's CNI configuration: a conflist file, or inline JSON, checked at creation.

Network options (``-o``): ``io.libnet.cni.conflist`` (path of a ``.conflist`` or ``.conf``
file) or ``io.libnet.cni.config`` (the same JSON inline), and ``io.libnet.cni.path`` (the
folders holding the plugins, colon-separated, default ``/usr/lib/cni``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from libnet.drivers.wellknown import generic_options
from libnet.errors import InvalidOptionError

CONFLIST = "io.libnet.cni.conflist"
CONFIG = "io.libnet.cni.config"
PATH = "io.libnet.cni.path"
DEFAULT_PATH = "/usr/lib/cni"


@dataclass(frozen=True)
class Conflist:
    """The plugins one join runs, in order, and where their executables are."""

    name: str
    cni_version: str
    plugins: tuple[dict[str, Any], ...]
    path: tuple[str, ...]

    def executable(self, plugin_type: str) -> str:
        """The plugin's executable in the first folder of ``path`` that has it."""
        for folder in self.path:
            candidate = os.path.join(folder, plugin_type)
            if os.access(candidate, os.X_OK):
                return candidate
        raise InvalidOptionError(
            f"CNI plugin {plugin_type!r} is not installed in {':'.join(self.path)}; install "
            f"it (Debian: containernetworking-plugins) or set option {PATH}"
        )


def load(nid: str, options: Mapping[str, Any]) -> Conflist:
    """The network's configuration from its options; InvalidOptionError names what is wrong."""
    generic = generic_options(options)
    source, inline = generic.get(CONFLIST), generic.get(CONFIG)
    if (source is None) == (inline is None):
        raise InvalidOptionError(
            f"a cni network needs option {CONFLIST}=FILE or {CONFIG}=JSON (one of them)"
        )
    where = f"option {CONFIG}"
    if source is not None:
        where = f"CNI configuration {source}"
        try:
            with open(str(source), encoding="utf-8") as fh:
                inline = fh.read()
        except OSError as exc:
            raise InvalidOptionError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        data = json.loads(inline) if isinstance(inline, str) else inline
    except ValueError as exc:
        raise InvalidOptionError(f"{where} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{where} must be a JSON object")
    plugins = data.get("plugins") if "plugins" in data else [data]
    if not isinstance(plugins, list) or not plugins:
        raise InvalidOptionError(f"{where}: 'plugins' must be a non-empty list")
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("type"), str):
            raise InvalidOptionError(f"{where}: plugin {i} has no 'type'")
    version = data.get("cniVersion")
    if not isinstance(version, str) or not version:
        raise InvalidOptionError(f'{where} has no cniVersion (such as "1.0.0")')
    name = data.get("name") or f"libnet-{nid[:12]}"
    path = tuple(p for p in str(generic.get(PATH) or DEFAULT_PATH).split(":") if p)
    conf = Conflist(str(name), version, tuple(dict(p) for p in plugins), path)
    for plugin in conf.plugins:
        conf.executable(plugin["type"])
    return conf
