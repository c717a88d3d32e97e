"""A Docker network (and IPAM) plugin that answers as Go's go-plugins-helpers library does.

Independent of libnet: only the standard library. It keeps networks and endpoints in
memory, answers errors with status 500 and ``{"Err": ...}`` (400 for a body it cannot
decode), sends ``Content-Type: application/vnd.docker.plugins.v1.1+json``, and appends one
JSON line per call (``{"method", "body", "pid"}``) to a log file when given one, so tests
can see what reached it, across restarts.

Run in a thread (:class:`GoPlugin`) or as a process (``python _goplugin.py --socket PATH
[--log FILE] [--ipam]``), which a test can kill and start again: it then knows nothing.

Tests steer it through ``GoPlugin.replies`` (method -> (status, body) answered instead of
the normal answer, which still has its effect; a bytes body is sent as it is),
``GoPlugin.hang`` (methods never answered until ``release`` is set) and
``GoPlugin.forget()``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

CONTENT_TYPE = "application/vnd.docker.plugins.v1.1+json"


class GoPlugin:
    """The plugin's state and behaviour, served by :class:`_Handler`."""

    def __init__(self, log: Path | None = None, ipam: bool = False) -> None:
        self.log = log
        self.implements = ["NetworkDriver"] + (["IpamDriver"] if ipam else [])
        self.networks: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.requests: list[dict[str, str]] = []  # headers of each request
        self.replies: dict[str, tuple[int, Any]] = {}
        self.hang: set[str] = set()
        self.release = threading.Event()
        self.scope = "local"
        self.pools: dict[str, str] = {}
        self.lock = threading.Lock()

    def forget(self) -> None:
        """Lose every network and endpoint, as a restarted plugin would."""
        with self.lock:
            self.networks.clear()
            self.endpoints.clear()

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def record(self, method: str, body: Any) -> None:
        self.calls.append((method, body))
        if self.log is not None:
            with open(self.log, "a") as f:
                f.write(json.dumps({"method": method, "body": body, "pid": os.getpid()}) + "\n")

    def handle(self, method: str, body: Any) -> tuple[int, Any]:
        if method in self.hang:
            self.record(method, body)
            self.release.wait(60)
            return 500, {"Err": "released"}
        with self.lock:
            self.record(method, body)
            answer: tuple[int, Any] = (404, b"404 page not found\n")
            try:
                answer = (200, self._answer(method, body or {}))
            except KeyError as exc:
                answer = (500, {"Err": str(exc.args[0])})
            except _NotFound:
                if method not in self.replies:
                    raise
            return self.replies.get(method, answer)

    def _network(self, nid: str) -> dict[str, Any]:
        if nid not in self.networks:
            raise KeyError(f"network {nid} not found")
        return self.networks[nid]

    def _endpoint(self, nid: str, eid: str) -> dict[str, Any]:
        self._network(nid)
        if eid not in self.endpoints:
            raise KeyError(f"endpoint {eid} not found")
        return self.endpoints[eid]

    def _answer(self, method: str, b: dict[str, Any]) -> Any:
        if method == "Plugin.Activate":
            return {"Implements": self.implements}
        if method == "NetworkDriver.GetCapabilities":
            return {"Scope": self.scope, "ConnectivityScope": ""}
        if method == "NetworkDriver.CreateNetwork":
            if b["NetworkID"] in self.networks:
                raise KeyError(f"network {b['NetworkID']} already exists")
            self.networks[b["NetworkID"]] = b
            return {}
        if method == "NetworkDriver.DeleteNetwork":
            self._network(b["NetworkID"])
            del self.networks[b["NetworkID"]]
            return {}
        if method == "NetworkDriver.CreateEndpoint":
            self._network(b["NetworkID"])
            self.endpoints[b["EndpointID"]] = b
            iface = b.get("Interface") or {}
            if not iface.get("MacAddress"):
                return {"Interface": {"MacAddress": "02:42:ac:11:00:99"}}
            return {}
        if method == "NetworkDriver.DeleteEndpoint":
            self._endpoint(b["NetworkID"], b["EndpointID"])
            del self.endpoints[b["EndpointID"]]
            return {}
        if method == "NetworkDriver.EndpointOperInfo":
            self._endpoint(b["NetworkID"], b["EndpointID"])
            return {"Value": {"pid": os.getpid()}}
        if method == "NetworkDriver.Join":
            self._endpoint(b["NetworkID"], b["EndpointID"])
            return {
                "InterfaceName": {"SrcName": "veth0go", "DstPrefix": "eth", "DstName": "net0"},
                "Gateway": "10.9.0.1",
                "StaticRoutes": [
                    {"Destination": "10.10.0.0/16", "RouteType": 0, "NextHop": "10.9.0.1"},
                    {"Destination": "10.11.0.0/16", "RouteType": 1},
                ],
                "DisableGatewayService": False,
            }
        if method in (
            "NetworkDriver.Leave",
            "NetworkDriver.ProgramExternalConnectivity",
            "NetworkDriver.RevokeExternalConnectivity",
        ):
            self._endpoint(b["NetworkID"], b["EndpointID"])
            return {}
        if method == "NetworkDriver.AllocateNetwork":
            return {"Options": {"vni": "42"}}
        if method in ("NetworkDriver.FreeNetwork", "NetworkDriver.DiscoverNew"):
            return {}
        if method == "NetworkDriver.DiscoverDelete":
            return None  # a null body is success
        if method == "IpamDriver.GetDefaultAddressSpaces":
            return {"LocalDefaultAddressSpace": "golocal", "GlobalDefaultAddressSpace": "goglobal"}
        if method == "IpamDriver.RequestPool":
            pool = b.get("Pool") or "10.77.0.0/16"
            self.pools[f"go/{pool}"] = pool
            return {"PoolID": f"go/{pool}", "Pool": pool, "Data": None}
        if method == "IpamDriver.RequestAddress":
            if b["PoolID"] not in self.pools:
                raise KeyError(f"pool {b['PoolID']} not found")
            return {"Address": (b.get("Address") or "10.77.0.5") + "/16", "Data": {}}
        if method in ("IpamDriver.ReleasePool", "IpamDriver.ReleaseAddress"):
            return {}
        raise _NotFound(method)


class _NotFound(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server  # type: ignore[assignment]

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        plugin = self.server.plugin
        plugin.requests.append(dict(self.headers.items()))
        method = self.path.lstrip("/")
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            self._send(400, {"Err": f"decoding request: {exc}"})
            return
        try:
            status, answer = plugin.handle(method, body)
        except _NotFound:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "19")
            self.end_headers()
            self.wfile.write(b"404 page not found\n")
            return
        self._send(status, answer)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    plugin: GoPlugin


def start(path: Path, plugin: GoPlugin) -> _Server:
    """Serve ``plugin`` at ``path`` in a background thread; ``shutdown()`` + close to stop."""
    if path.exists():
        path.unlink()
    server = _Server(str(path), _Handler)
    server.plugin = plugin
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def stop(server: _Server) -> None:
    server.shutdown()
    server.server_close()
    Path(server.server_address).unlink(missing_ok=True)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--log")
    parser.add_argument("--ipam", action="store_true")
    args = parser.parse_args()
    path = Path(args.socket)
    if path.exists():  # a killed predecessor left it
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(path))
            sys.exit(f"{path} is in use")
        except OSError:
            path.unlink()
        finally:
            probe.close()
    server = _Server(str(path), _Handler)
    server.plugin = GoPlugin(Path(args.log) if args.log else None, args.ipam)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("ready", flush=True)
    server.serve_forever()
    server.server_close()
    path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
