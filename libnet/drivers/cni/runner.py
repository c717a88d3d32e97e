"""Running a CNI plugin: the spec's environment and stdin, its result or its error."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from libnet.drivers.cni.conflist import Conflist
from libnet.errors import DriverError

TIMEOUT = 60.0
"""Seconds one plugin call may take."""


@dataclass(frozen=True)
class Attachment:
    """Who a call is about: the spec's CNI_CONTAINERID, CNI_NETNS and CNI_IFNAME."""

    container_id: str
    netns: str
    ifname: str


def plugin_config(
    conf: Conflist, plugin: dict[str, Any], prev: dict[str, Any] | None
) -> dict[str, Any]:
    """What one plugin of the list reads on stdin: its entry, the list's name and version,
    and the previous plugin's result."""
    out = {**plugin, "name": conf.name, "cniVersion": conf.cni_version}
    if prev is not None:
        out["prevResult"] = prev
    return out


def call(
    conf: Conflist, command: str, plugin: dict[str, Any], stdin: dict[str, Any], att: Attachment
) -> dict[str, Any] | None:
    """Run ``command`` of ``plugin``; its result (None when it prints none). DriverError
    carries the plugin's error message and code."""
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": att.container_id,
        "CNI_NETNS": att.netns,
        "CNI_IFNAME": att.ifname,
        "CNI_PATH": ":".join(conf.path),
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    }
    exe = conf.executable(str(plugin["type"]))
    what = f"CNI plugin {plugin['type']!r} ({command} of {att.ifname} in {att.netns})"
    try:
        proc = subprocess.run(
            [exe],
            input=json.dumps(stdin).encode(),
            env=env,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DriverError(f"{what} could not run: {exc}") from exc
    text = proc.stdout.decode(errors="replace").strip()
    try:
        reply = json.loads(text) if text else None
    except ValueError:
        reply = None
    if proc.returncode != 0:
        if isinstance(reply, dict) and "msg" in reply:
            detail = f"{reply.get('msg')} (code {reply.get('code')})"
            if reply.get("details"):
                detail += f": {reply['details']}"
        else:
            detail = (proc.stderr.decode(errors="replace") or text).strip()[-500:]
        raise DriverError(f"{what} failed: {detail}")
    if text and not isinstance(reply, dict):
        raise DriverError(f"{what} printed something that is not a JSON result: {text[:200]!r}")
    return reply
