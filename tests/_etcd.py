"""Real etcd clusters for tests: members on free loopback ports with throwaway data dirs.

``EtcdCluster(base, size).start()`` runs ``size`` members of one new cluster and waits
until it has a leader; ``stop()`` kills every member and waits for it (nothing is left
running). Members can be killed, stopped and started again one by one.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ETCD = shutil.which("etcd")
SKIP_REASON = (
    "etcd is not installed: apt-get install etcd-server etcd-client (as .ci/run does) "
    "to run the etcd tests"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_call(
    port: int,
    path: str,
    body: dict[str, Any],
    timeout: float = 2.0,
    context: ssl.SSLContext | None = None,
) -> Any:
    """POST to one member's JSON gateway (the tests' own, independent of libnet's client)."""
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    try:
        conn.request("POST", f"/v3/{path}", json.dumps(body))
        response = conn.getresponse()
        data = json.loads(response.read() or b"{}")
        if response.status != 200:
            raise OSError(f"etcd {path}: {data}")
        return data
    finally:
        conn.close()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def make_certificates(where: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    where.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=where)

    new_key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"]
    openssl("req", "-x509", *new_key, "-subj", "/CN=libnet test CA", "-keyout", "ca.key",
            "-out", "ca.pem")  # fmt: skip
    # etcd's gateway dials its own gRPC server with the server certificate: clientAuth too.
    extensions = {
        "server": "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n",
        "client": "extendedKeyUsage=clientAuth\n",
    }
    for name, extension in extensions.items():
        (where / f"{name}.ext").write_text(extension)
        openssl("req", *new_key, "-subj", f"/CN=libnet {name}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr")  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                "-out", f"{name}.pem")  # fmt: skip
    names = ["ca.pem", "server.pem", "server.key", "client.pem", "client.key"]
    return {name: where / name for name in names}


class EtcdCluster:
    """One etcd cluster of ``size`` members under ``base``.

    With ``tls=True`` the members serve clients over HTTPS only, with a throwaway CA, and
    require a client certificate (``certs`` names the files).
    """

    def __init__(
        self, base: Path, size: int = 1, *, tls: bool = False, also_on: str | None = None
    ) -> None:
        assert ETCD is not None, SKIP_REASON
        self.base = base
        self.also_on = also_on
        """Another address the members serve clients on (each on its loopback port)."""
        self.certs = make_certificates(base / "certs") if tls else {}
        self.context: ssl.SSLContext | None = None
        if tls:
            self.context = ssl.create_default_context(cafile=self.certs["ca.pem"])
            self.context.load_cert_chain(self.certs["client.pem"], self.certs["client.key"])
        self.token = f"libnet-test-{uuid.uuid4().hex[:8]}"
        self.members = [
            Member(
                f"m{i}",
                free_port(),
                free_port(),
                base / f"m{i}.data",
                base / f"m{i}.log",
            )
            for i in range(1, size + 1)
        ]

    def url(self, prefix: str = "", *, host: str | None = None, **options: str) -> str:
        """The store URL; ``host``: reach the members on that address (``also_on``)."""
        query = "&".join(f"{k}={v}" for k, v in options.items())
        if host is None:
            hosts = ",".join(m.endpoint for m in self.members)
        else:
            hosts = ",".join(f"{host}:{m.client_port}" for m in self.members)
        scheme = "etcds" if self.certs else "etcd"
        return f"{scheme}://{hosts}/{prefix}" + (f"?{query}" if query else "")

    def call(self, member: Member, path: str, body: dict[str, Any]) -> Any:
        return gateway_call(member.client_port, path, body, context=self.context)

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    # Lifecycle.

    def start(self, timeout: float = 30.0) -> EtcdCluster:
        for member in self.members:
            self.start_member(member.name, wait=False)
        self.wait_healthy(timeout)
        return self

    def start_member(self, name: str, *, wait: bool = True) -> None:
        member = self.member(name)
        assert not member.running(), f"{name} is already running"
        cluster = ",".join(f"{m.name}=http://127.0.0.1:{m.peer_port}" for m in self.members)
        scheme = "https" if self.certs else "http"
        listen = f"{scheme}://{member.endpoint}"
        if self.also_on:
            listen += f",{scheme}://{self.also_on}:{member.client_port}"
        args = [
            str(ETCD),
            "--name", member.name,
            "--data-dir", str(member.data_dir),
            "--listen-client-urls", listen,
            "--advertise-client-urls", f"{scheme}://{member.endpoint}",
            "--listen-peer-urls", f"http://127.0.0.1:{member.peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{member.peer_port}",
            "--initial-cluster", cluster,
            "--initial-cluster-token", self.token,
            "--initial-cluster-state", "new",
            "--log-level", "warn",
        ]  # fmt: skip
        if self.certs:
            args += [
                "--cert-file", str(self.certs["server.pem"]),
                "--key-file", str(self.certs["server.key"]),
                "--trusted-ca-file", str(self.certs["ca.pem"]),
                "--client-cert-auth",
            ]  # fmt: skip
        self.base.mkdir(parents=True, exist_ok=True)
        with member.log.open("ab") as log:
            member.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until every running member answers and knows a leader."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if all(
                    self.call(m, "maintenance/status", {}).get("leader")
                    for m in self.members
                    if m.running()
                ):
                    # A write through the leader proves the cluster takes proposals.
                    self.put_raw("libnet-test-health", "ok")
                    return
            except (OSError, ValueError, ssl.SSLError):
                pass
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise RuntimeError(f"etcd member {m.name} exited: {m.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"etcd cluster in {self.base} did not become healthy")
            time.sleep(0.05)

    def put_raw(self, key: str, value: str) -> None:
        for m in self.members:
            if m.running():
                self.call(m, "kv/put", {"key": b64(key), "value": b64(value)})
                return
        raise OSError("no member running")

    def leader(self) -> Member:
        """The member that leads now."""
        for m in self.members:
            if not m.running():
                continue
            with contextlib.suppress(OSError, ValueError):
                status = self.call(m, "maintenance/status", {})
                leader_id = status.get("leader")
                if leader_id and leader_id == status["header"]["member_id"]:
                    return m
        for m in self.members:
            if not m.running():
                continue
            with contextlib.suppress(OSError, ValueError):
                status = self.call(m, "maintenance/status", {})
                ids = self.call(m, "cluster/member/list", {})["members"]
                name = next(x["name"] for x in ids if x["ID"] == status.get("leader"))
                return self.member(name)
        raise RuntimeError("no member knows a leader")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        member = self.member(name)
        if member.proc is not None and member.proc.poll() is None:
            member.proc.send_signal(sig)
            member.proc.wait(30)
        member.proc = None

    def stop(self) -> None:
        """Kill every member and wait for it; keep the data dirs (for a restart)."""
        for member in self.members:
            if member.proc is not None and member.proc.poll() is None:
                os.killpg(member.proc.pid, signal.SIGKILL)
        for member in self.members:
            if member.proc is not None:
                member.proc.wait(30)
                member.proc = None

    def restart(self, timeout: float = 30.0) -> None:
        """Stop every member, then start them all again on their data dirs."""
        self.stop()
        self.start(timeout)
