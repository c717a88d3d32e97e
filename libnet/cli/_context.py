"""What every command shares: global options, the state directory and the controller."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from libnet.errors import LibnetError

if TYPE_CHECKING:  # the controller's modules are imported by the commands that use one
    from libnet.controller import Controller, PluginMode

PROG = "libnet"

STATE_DIR_ENV = "LIBNET_STATE_DIR"
"""Environment variable naming the state directory when ``--state-dir`` is not given."""

SYSTEM_STATE_DIR = Path("/var/lib/libnet")
"""The state directory of root, as Docker keeps ``/var/lib/docker``."""


def resolve_state_dir(option: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The state directory: ``--state-dir``, else ``$LIBNET_STATE_DIR``, else a default.

    The default is ``/var/lib/libnet`` for root, and for other users
    ``$XDG_STATE_HOME/libnet`` (when it is an absolute path, as the XDG spec asks) or
    ``~/.local/state/libnet``. Empty values count as unset.
    """
    env = os.environ if env is None else env
    if option:
        return Path(option)
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV])
    if os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "libnet"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "state" / "libnet"


@dataclass
class CommandContext:
    """Global options of one ``libnet`` run, and the controller made from them."""

    state_dir: Path
    debug: bool = False
    plugin_timeout: float | None = None
    """``--plugin-timeout``; None leaves it to the controller (``LIBNET_PLUGIN_TIMEOUT``)."""
    global_store: str | None = None
    """``--global-store``; None leaves it to the controller (``LIBNET_GLOBAL_STORE``)."""
    host_id: str | None = None
    """``--host-id``; None: the state directory's."""
    advertise_addr: str | None = None
    """``--advertise-addr``; None leaves it to the controller (``LIBNET_ADVERTISE_ADDR``)."""
    _controller: Controller | None = field(default=None, repr=False)

    def controller(
        self, *, plugins: PluginMode = "lazy", stateless: bool = False, read_only: bool = False
    ) -> Controller:
        """The run's controller on the state directory, opened on first use.

        ``stateless`` commands (``libnet drivers``) get one with memory state, so they work
        without touching, or being able to open, the state directory. ``read_only``
        commands (``ls``, ``inspect``) read a snapshot of the state file: they work for a
        user who may read it but not write it, and never create or change a file.
        """
        if self._controller is None:
            from libnet.controller import Controller

            if read_only and not stateless:
                from libnet.store.readonly import open_snapshot

                self._controller = Controller(
                    store=open_snapshot(self.state_dir),
                    plugins=plugins,
                    plugin_timeout=self.plugin_timeout,
                    global_store=self.global_store,
                    host_id=self.host_id or _stored_host_id(self.state_dir),
                )
                return self._controller
            state_dir = None if stateless else self.state_dir
            self._controller = Controller(
                state_dir=state_dir,
                plugins=plugins,
                plugin_timeout=self.plugin_timeout,
                global_store=None if stateless else self.global_store,
                host_id=self.host_id,
                advertise_addr=self.advertise_addr,
            )
        return self._controller

    def report(self, exc: BaseException) -> None:
        """Print one error as ``libnet: error: ...``, with its traceback under ``--debug``.

        Commands that act on several objects report each failure and go on.
        """
        if self.debug:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        print(f"{PROG}: error: {exc}", file=sys.stderr)

    def each(self, refs: Iterable[str], action: Callable[[str], None]) -> int:
        """Run ``action`` on every reference, reporting failures; 1 if any failed, else 0."""
        status = 0
        for ref in refs:
            try:
                action(ref)
            except LibnetError as exc:
                self.report(exc)
                status = 1
        return status

    def close(self) -> None:
        """Close the controller, if the command opened one."""
        if self._controller is not None:
            self._controller.close()


def _stored_host_id(state_dir: Path) -> str:
    """The state directory's host ID without making one (read-only commands), or
    ``unknown`` if it has none yet."""
    from libnet.store.hostid import HOST_ID_FILE

    try:
        return (state_dir / HOST_ID_FILE).read_text().strip() or "unknown"
    except OSError:
        return "unknown"
