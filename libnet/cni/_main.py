"""``libnet-cni``: the CNI plugin's entry point.

Only the result goes to stdout: the real stdout is kept aside and file descriptor 1 points
to stderr for everything else, drivers' child processes included. VERSION imports nothing
of libnet but this package; the other commands import the controller when they need it.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO

from libnet.cni._config import SUPPORTED_VERSIONS, call_from, decode, parse, version_of
from libnet.cni._errors import INVALID_ENVIRONMENT, LIBNET_ERROR, CniError

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC")
HIGHEST = SUPPORTED_VERSIONS[-1]


def _result_stream() -> BinaryIO:
    """The real stdout, for the result alone; fd 1 becomes stderr from here on."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(saved, "wb")


def _logging(log_file: str | None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s libnet-cni[%(process)d] %(message)s"))
    root = logging.getLogger("libnet")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if os.environ.get("LIBNET_CNI_DEBUG") else logging.INFO)


def _lean_pyroute2() -> None:
    """Make ``import pyroute2`` give a package that loads only ``IPRoute``, on first use.

    libnet's OS layer uses ``pyroute2.IPRoute`` alone, but pyroute2's package imports some
    sixty other modules (conntrack, NDB, IPDB, wireguard...): a third of its import time,
    paid by every call. A process that already imported pyroute2 is left as it is.
    """
    if "pyroute2" in sys.modules:
        return
    import importlib
    import importlib.util
    import types

    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("pyroute2")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin

    def __getattr__(name: str) -> Any:
        if name == "IPRoute":
            value = importlib.import_module("pyroute2.iproute.linux").IPRoute
            package.IPRoute = value  # type: ignore[attr-defined]
            return value
        raise AttributeError(f"module 'pyroute2' (as libnet-cni loads it) has no {name!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["pyroute2"] = package


def run(env: Mapping[str, str], stdin: bytes) -> tuple[dict[str, Any] | None, str]:
    """One call: (result or None, the cniVersion to answer with). Raises CniError."""
    command = env.get("CNI_COMMAND", "")
    if command not in COMMANDS:
        raise CniError(
            INVALID_ENVIRONMENT,
            f"CNI_COMMAND={command!r} is not a CNI command: use {', '.join(COMMANDS)}",
            "libnet-cni is a CNI plugin that container runtimes run; see docs/cni.md",
        )
    if command == "VERSION":
        return {"cniVersion": HIGHEST, "supportedVersions": list(SUPPORTED_VERSIONS)}, HIGHEST
    raw = decode(stdin)
    version = version_of(raw)
    conf = parse(raw)
    _logging(conf.log_file)
    call = call_from(env)
    _lean_pyroute2()
    from libnet.cni import _plugin

    try:
        if command == "ADD":
            return _plugin.add(call, conf), version
        if command == "DEL":
            _plugin.delete(call, conf)
        elif command == "CHECK":
            _plugin.check(call, conf)
        elif command == "STATUS":
            _plugin.status(conf)
        else:
            _plugin.gc(conf)
    except Exception as exc:
        error = _plugin.translate(exc)
        if error is not exc:
            logging.getLogger("libnet.cni").debug("%s failed", command, exc_info=True)
        raise error from exc
    return None, version


def _answer_version(stdin: bytes) -> str:
    """The version an error is reported in: the configuration's if readable, else the highest."""
    try:
        value = json.loads(stdin)
        version = value.get("cniVersion") if isinstance(value, dict) else None
    except ValueError:
        version = None
    return version if isinstance(version, str) and version else HIGHEST


def main() -> int:
    """Run the call described by the environment and stdin; exit status 0 or 1."""
    gc.disable()  # one short call: the collector would only slow the imports down
    out = _result_stream()
    stdin = b"" if os.environ.get("CNI_COMMAND") == "VERSION" else sys.stdin.buffer.read()
    try:
        result, _ = run(os.environ, stdin)
        status = 0
    except CniError as exc:
        result, status = exc.to_json(_answer_version(stdin)), 1
        print(f"libnet-cni: {exc.msg}", file=sys.stderr)
    except Exception as exc:  # a bug: still the spec's error shape
        logging.getLogger("libnet.cni").exception("libnet-cni failed")
        error = CniError(LIBNET_ERROR, f"libnet-cni failed: {type(exc).__name__}: {exc}")
        result, status = error.to_json(_answer_version(stdin)), 1
    if result is not None:
        out.write(json.dumps(result, indent=2).encode() + b"\n")
    out.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
