"""What TLS costs a plugin served on TCP, against plain TCP measured in the same run.

``libnet serve`` on TCP speaks mutual TLS (or, asked, plain HTTP). This serves the ``null``
driver with a :class:`~libnet.dockerplugin.server.PluginServer` in this process, on a
loopback port, once with ``insecure_tcp=True`` (the baseline) and once with mutual TLS
(certificates made with ``openssl``, as in the tests), and drives each with libnet's
:class:`~libnet.dockerplugin.client.PluginClient` through the spec file the server wrote:

* **kept-alive**: ``NetworkDriver.GetCapabilities`` on one kept-alive connection (what the
  remote driver does between calls);
* **new connection**: the same call on a fresh connection each time (TCP connect, and for
  TLS a full handshake with client certificate).

It prints the mean microseconds per call and the ratio TLS / plain. Figures, not assertions.
Run ``python benchmarks/bench_serve_tls.py`` (``--calls N`` for more kept-alive calls).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

CERTS_PY = Path(__file__).resolve().parents[1] / "tests" / "plugin" / "_certs.py"


def _load_certs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("libnet_bench_certs", CERTS_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(spec_dir: Path, calls: int, fresh: int, **server: Any) -> tuple[float, float]:
    """(kept-alive, new connection) mean microseconds per call."""
    from libnet.dockerplugin.client import PluginClient
    from libnet.dockerplugin.discovery import PluginDirs
    from libnet.plugin import PluginServer

    with PluginServer("null", name="bench", tcp=("127.0.0.1", 0), spec_dir=spec_dir, **server):
        address = PluginDirs((), (spec_dir,)).find("bench")
        assert address is not None
        client = PluginClient(address, timeout=10)
        client.call("Plugin.Activate")
        started = time.perf_counter()
        for _ in range(calls):
            client.call("NetworkDriver.GetCapabilities")
        kept = (time.perf_counter() - started) / calls * 1e6
        started = time.perf_counter()
        for _ in range(fresh):
            client.reset()
            client.call("NetworkDriver.GetCapabilities")
        new = (time.perf_counter() - started) / fresh * 1e6
        client.close()
    return kept, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="kept-alive calls per case")
    parser.add_argument("--fresh", type=int, default=200, help="new-connection calls per case")
    args = parser.parse_args()
    if shutil.which("openssl") is None:
        sys.exit("bench_serve_tls.py needs the openssl command (apt-get install openssl)")
    logging.getLogger("libnet.plugin").setLevel(logging.ERROR)  # the plain-TCP warning
    from libnet.plugin import ServerTLS

    work = Path(tempfile.mkdtemp(prefix="libnet-bench-tls-"))
    try:
        certs = _load_certs().Certs(work)
        tls = ServerTLS(
            certs.server,
            certs.server_key,
            client_ca=certs.ca,
            spec_cert=certs.client,
            spec_key=certs.client_key,
        )
        plain = measure(work / "plain", args.calls, args.fresh, insecure_tcp=True)
        mutual = measure(work / "tls", args.calls, args.fresh, tls=tls)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'per call (us)':<28}{'plain TCP':>12}{'mutual TLS':>12}{'ratio':>8}")
    for label, a, b in (
        ("kept-alive connection", plain[0], mutual[0]),
        ("new connection each call", plain[1], mutual[1]),
    ):
        print(f"{label:<28}{a:>12.0f}{b:>12.0f}{b / a:>8.2f}")


if __name__ == "__main__":
    main()
