"""Serving a libnet driver as a Docker plugin: on a unix socket, or on TCP with a spec file.

:class:`PluginServer` makes the controller, driver and service, binds the socket with its
mode and group (or listens on TCP, with TLS or explicitly without, and writes the spec
file of :mod:`._spec`), and runs the HTTP transport of :mod:`._http`.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import signal
import socket
import ssl
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from libnet.controller import Controller
from libnet.dockerplugin.server import _spec
from libnet.dockerplugin.server._http import (
    CONNECTION_TIMEOUT,
    HANDSHAKE_TIMEOUT,
    MAX_BODY,
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT,
    Handler,
    Limits,
    Tcp6Server,
    TcpServer,
    UnixServer,
)
from libnet.dockerplugin.server._service import PluginService
from libnet.dockerplugin.server._state import PluginState
from libnet.dockerplugin.server._tls import ServerTLS
from libnet.driverapi import Capability, Driver
from libnet.errors import ServeError
from libnet.ipam import Ipam, IpamCapability
from libnet.registry import check_driver_name
from libnet.store import MemoryStore, SqliteStore

__all__ = [
    "CONNECTION_TIMEOUT",
    "DEFAULT_SOCKET_DIR",
    "DEFAULT_SPEC_DIR",
    "HANDSHAKE_TIMEOUT",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "REQUEST_TIMEOUT",
    "PluginServer",
    "ServeError",
    "ServerTLS",
    "serve",
]

log = logging.getLogger("libnet.plugin")

DEFAULT_SOCKET_DIR = Path("/run/docker/plugins")
"""Where Docker looks for plugin sockets; ``NAME.sock`` is created here by default."""

DEFAULT_SPEC_DIR = Path("/etc/docker/plugins")
"""Where the ``NAME.spec`` (or, with TLS, ``NAME.json``) file of a TCP plugin is written."""

_UNIX_PATH_MAX = 107


# -- sockets, spec files, groups --------------------------------------------------------


def _gid(group: str | int) -> int:
    if isinstance(group, int):
        return group
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ServeError(
            f"group {group!r} does not exist; create it (groupadd {group}) or give another --group"
        ) from None


def _free_socket_path(path: Path) -> None:
    """Refuse a socket path in use; remove a stale socket left by a dead plugin."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ServeError(f"{path} exists and is not a socket; remove it or choose another --socket")
    if _spec.answers(socket.AF_UNIX, str(path)):
        raise ServeError(
            f"{path} is in use by a running plugin; stop it first or choose another --name"
        )
    log.info("removing stale socket %s", path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _bind_unix(server: UnixServer, path: Path, gid: int | None) -> None:
    """Bind and listen at ``path`` with mode 0660 (and group ``gid``) from the first moment.

    The socket is bound in a private 0700 directory beside ``path``, given its mode and
    owner, put to listening, then renamed into place.
    """
    if len(os.fsencode(path)) > _UNIX_PATH_MAX:
        raise ServeError(f"socket path {path} is longer than {_UNIX_PATH_MAX} bytes")
    _spec.make_dir(path.parent)
    _free_socket_path(path)
    try:
        private = tempfile.mkdtemp(prefix=".ln", dir=path.parent)
    except OSError as exc:
        raise ServeError(f"cannot create a socket in {path.parent}: {exc.strerror}") from exc
    tmp = os.path.join(private, "s")
    try:
        server.socket.bind(tmp)
        os.chmod(tmp, 0o660)
        if gid is not None:
            os.chown(tmp, 0 if os.geteuid() == 0 else -1, gid)
        server.socket.listen(socket.SOMAXCONN)
        os.rename(tmp, path)
    except OSError as exc:
        raise ServeError(f"cannot create socket {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        with contextlib.suppress(OSError):
            os.rmdir(private)
    server.server_address = str(path)


# -- the server -------------------------------------------------------------------------


class PluginServer:
    """A libnet network driver, IPAM driver, or both, served as one Docker plugin.

    ``driver`` names a network type the server's controller knows (built in or from an
    entry point) and ``ipam`` an IPAM driver it knows (``default``, ``null``, or from an
    entry point): the served objects are exactly the ones that controller would use, the
    default IPAM keeping its pools in the plugin's store. ``ipam`` may also be an
    :class:`~libnet.ipam.Ipam` object (with ``ipam_capability``). The plugin is called
    ``name`` (default: the driver's name, else the IPAM's).

    It listens on ``socket`` (default ``/run/docker/plugins/NAME.sock``, mode 0660, owned
    by root and ``group``), or on ``tcp=(host, port)`` with a spec file written to
    ``spec_dir`` (default ``/etc/docker/plugins``) and removed on stop. Port 0 picks a
    free port. TCP needs ``tls`` (a :class:`ServerTLS`: the spec is ``NAME.json`` with
    ``https://`` and the ``TLSConfig`` to connect with, checked by connecting through it
    at start), or ``insecure_tcp=True`` for plain HTTP (``NAME.spec``), which has no
    authentication: anyone who can reach the port can drive the driver (a warning says so).

    What Docker creates is recorded in the store, SQLite under ``state_dir`` (else in
    memory, or the given ``controller``'s store), and replayed to the driver at start.
    Other keyword arguments go to the :class:`~libnet.Controller` the server creates
    (Docker plugin lookup is off in it unless ``plugin_dirs`` is given).

    ``start()`` serves in a background thread; ``stop()`` (or leaving the ``with`` block)
    closes it and removes the socket or spec file; ``serve_forever()`` serves until
    SIGTERM or SIGINT.
    """

    def __init__(
        self,
        driver: str | None,
        *,
        name: str | None = None,
        socket: str | os.PathLike[str] | None = None,
        tcp: tuple[str, int] | None = None,
        spec_dir: str | os.PathLike[str] | None = None,
        tls: ServerTLS | None = None,
        insecure_tcp: bool = False,
        ipam: str | Ipam | None = None,
        ipam_capability: IpamCapability | None = None,
        group: str | int | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        controller: Controller | None = None,
        max_body: int = MAX_BODY,
        connection_timeout: float = CONNECTION_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        **controller_kwargs: Any,
    ) -> None:
        if driver is None and ipam is None:
            raise ServeError("name a network driver to serve, an IPAM driver, or both")
        if socket is not None and tcp is not None:
            raise ServeError("serve on a unix socket or on TCP, not both")
        if spec_dir is not None and tcp is None:
            raise ServeError("a spec directory is only used with TCP")
        _check_transport(tcp, tls, insecure_tcp)
        if controller is not None and (state_dir is not None or controller_kwargs):
            raise ServeError("give the server a controller, or the settings to make one")
        default_name = driver or (ipam if isinstance(ipam, str) else None)
        if name is None and default_name is None:
            raise ServeError("name the plugin: an IPAM driver object has no name")
        self.name = check_driver_name(name or default_name)
        self.socket_path: Path | None = None
        self.spec_path: Path | None = None
        if tcp is None:
            self.socket_path = (
                Path(socket) if socket is not None else (DEFAULT_SOCKET_DIR / f"{self.name}.sock")
            )
        else:
            port = tcp[1]
            if not isinstance(port, int) or not 0 <= port <= 65535:
                raise ServeError(f"TCP port {port!r} must be a number from 0 to 65535")
            ext = ".spec" if tls is None else ".json"
            self.spec_path = Path(spec_dir or DEFAULT_SPEC_DIR) / f"{self.name}{ext}"
        self._tcp = tcp
        self.tls = tls
        self._gid = _gid(group) if group is not None else None
        self._driver_name = driver
        self._ipam_arg = ipam
        self._ipam_capability = ipam_capability
        self._state_dir = None if state_dir is None else Path(state_dir)
        self._controller_arg = controller
        self._controller_kwargs = controller_kwargs
        for what, value in (
            ("max_body", max_body),
            ("connection_timeout", connection_timeout),
            ("request_timeout", request_timeout),
            ("max_connections", max_connections),
            ("handshake_timeout", handshake_timeout),
        ):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ServeError(f"{what}={value!r} must be a positive number")
        self._limits = Limits(
            int(max_body),
            float(connection_timeout),
            float(request_timeout),
            int(max_connections),
            float(handshake_timeout),
        )
        self.controller: Controller | None = None
        self.driver: Driver | None = None
        self.capability: Capability | None = None
        self.ipam: Ipam | None = None
        self.service: PluginService | None = None
        self.address = ""
        self._server: UnixServer | TcpServer | None = None
        self._thread: threading.Thread | None = None
        self._socket_id: tuple[int, int] | None = None
        self._spec_text: str | None = None
        self._owns_controller = False

    @property
    def manifest(self) -> list[str]:
        """The interfaces the plugin implements (after ``start()``)."""
        return list(self.service.manifest.implements) if self.service else []

    def __enter__(self) -> PluginServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _open(self) -> PluginService:
        """Controller, driver, IPAM, state and service; replays the stored state."""
        if self._controller_arg is not None:
            controller = self._controller_arg
            store = controller.store
        else:
            store = SqliteStore(self._state_dir) if self._state_dir else MemoryStore()
            kwargs: dict[str, Any] = {"plugin_dirs": (), **self._controller_kwargs}
            try:
                controller = Controller(store=store, **kwargs)
            except BaseException:
                store.close()
                raise
            self._owns_controller = True
        self.controller = controller
        if self._driver_name is not None:
            reg = controller.resolve_driver(self._driver_name)
            self.driver, self.capability = reg.driver, reg.capability
        ipam_cap = self._ipam_capability
        if isinstance(self._ipam_arg, str):
            ipam_reg = controller.resolve_ipam(self._ipam_arg)
            self.ipam, ipam_cap = ipam_reg.driver, ipam_reg.capability
        elif self._ipam_arg is not None:
            self.ipam = self._ipam_arg
        service = PluginService(
            PluginState(store, self.name),
            driver=self.driver,
            capability=self.capability,
            ipam=self.ipam,
            ipam_capability=ipam_cap,
        )
        service.restore()
        return service

    def _listen(
        self, service: PluginService, context: ssl.SSLContext | None
    ) -> UnixServer | TcpServer:
        server: UnixServer | TcpServer
        if self._tcp is None:
            assert self.socket_path is not None
            server = UnixServer(str(self.socket_path), Handler, bind_and_activate=False)
            server.setup_plugin(service, self._limits)
            try:
                _bind_unix(server, self.socket_path, self._gid)
            except BaseException:
                server.server_close()
                raise
            st = os.stat(self.socket_path)
            self._socket_id = (st.st_dev, st.st_ino)
            self.address = f"unix://{self.socket_path}"
            return server
        host, port = self._tcp
        cls = Tcp6Server if ":" in host else TcpServer
        try:
            server = cls((host, port), Handler)
        except OSError as exc:
            where = _spec.url(host, port, tls=context is not None)
            raise ServeError(f"cannot listen on {where}: {exc.strerror}") from exc
        server.setup_plugin(service, self._limits, context)
        self.address = _spec.url(host, server.server_address[1], tls=context is not None)
        assert self.spec_path is not None
        text = _spec.spec_text(
            self.name, self.address, None if self.tls is None else self.tls.spec_config()
        )
        try:
            _spec.claim(self.spec_path.parent, self.name, self.address)
            _spec.write(self.spec_path, text)
        except BaseException:
            server.server_close()
            raise
        self._spec_text = text
        return server

    def start(self) -> PluginServer:
        """Open the state, replay it to the driver, and serve in a background thread."""
        if self._server is not None:
            raise ServeError(f"plugin {self.name!r} is already serving at {self.address}")
        try:
            # TLS files are checked before the state is opened: a bad one changes nothing
            context = None if self.tls is None else self.tls.context()
            self.service = self._open()
            self._server = self._listen(self.service, context)
        except BaseException:
            self._close_state()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"libnet-plugin-{self.name}",
            daemon=True,
        )
        self._thread.start()
        if self.tls is not None:
            self._check_spec()
        if self._tcp is not None and (self.tls is None or not self.tls.mutual):
            log.warning(
                "plugin %r serves %s at %s without authentication: anyone who can reach the "
                "port can drive the %s (serve with --tls-cert, --tls-key and --tls-ca)",
                self.name,
                "plain TCP, without TLS," if self.tls is None else "TLS",
                self.address,
                "driver" if self.driver is not None else "IPAM driver",
            )
        log.info(
            "serving Docker plugin %r (%s) at %s", self.name, ", ".join(self.manifest), self.address
        )
        return self

    def _check_spec(self) -> None:
        """Call the plugin through its spec file, as Docker will; stop serving if that fails."""
        from libnet.dockerplugin.client import PluginClient
        from libnet.dockerplugin.discovery import PluginDirs
        from libnet.errors import LibnetError

        assert self.spec_path is not None
        try:
            address = PluginDirs((), (self.spec_path.parent,)).find(self.name)
            if address is None or address.source != self.spec_path:
                raise ServeError(f"{self.spec_path} is not found by name {self.name!r}")
            client = PluginClient(address, timeout=10.0, retry_budget=0.0)
            try:
                client.call("Plugin.Activate")
            finally:
                client.close()
        except LibnetError as exc:
            self.stop()
            raise ServeError(
                f"a client of plugin {self.name!r} cannot connect through {self.spec_path}, "
                f"so Docker could not either: {exc}"
            ) from exc

    def _close_state(self) -> None:
        if self.service is not None:
            self.service.close()
        if self._owns_controller and self.controller is not None:
            self.controller.close()
            self._owns_controller = False

    def stop(self) -> None:
        """Stop serving, close connections, remove the socket or spec file. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        if self.service is not None:
            self.service.close()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
        self._remove_files()
        self._close_state()
        log.info("stopped serving Docker plugin %r", self.name)

    def _remove_files(self) -> None:
        """Remove our socket or spec file, unless another plugin replaced it since."""
        if self.socket_path is not None and self._socket_id is not None:
            with contextlib.suppress(OSError):
                st = os.lstat(self.socket_path)
                if (st.st_dev, st.st_ino) == self._socket_id:
                    os.unlink(self.socket_path)
        if self.spec_path is not None and self._spec_text is not None:
            _spec.remove(self.spec_path, self._spec_text)

    def serve_forever(self, ready: Callable[[PluginServer], object] | None = None) -> None:
        """Serve (starting if need be) until SIGTERM or SIGINT, then stop cleanly.

        ``ready(server)`` is called once serving, with the signal handlers in place. They
        are installed only when called from the main thread, and restored on return.
        """
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            stop.set()

        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        try:
            if self._server is None:
                self.start()
            if ready is not None:
                ready(self)
            while not stop.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _check_transport(tcp: object, tls: ServerTLS | None, insecure_tcp: bool) -> None:
    """TCP only with TLS or an explicit ``insecure_tcp``; both only with TCP."""
    if tcp is None:
        if tls is not None:
            raise ServeError(
                "TLS is only used with TCP; a unix socket is protected by its mode and group"
            )
        if insecure_tcp:
            raise ServeError("--insecure-tcp is only used with --tcp")
        return
    if tls is not None and insecure_tcp:
        raise ServeError("serve TCP with TLS or with --insecure-tcp, not both")
    if tls is None and not insecure_tcp:
        raise ServeError(
            "serving on TCP needs TLS: --tls-cert and --tls-key, with --tls-ca to accept only "
            "clients with a certificate (Docker's only way to authenticate to a plugin); or "
            "--insecure-tcp to serve plain TCP, which anyone who can reach the port can use"
        )


def serve(driver: str | None, **kwargs: Any) -> None:
    """Serve ``driver`` as a Docker plugin until SIGTERM or SIGINT (see :class:`PluginServer`)."""
    PluginServer(driver, **kwargs).serve_forever()
