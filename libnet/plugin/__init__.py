"""Serving libnet drivers to Docker: the network (and IPAM) plugin protocol, server side.

``serve("bridge")`` (or ``libnet serve bridge``) makes a libnet network driver, built in or
from an entry point, and optionally an IPAM driver, one Docker plugin listening at
``/run/docker/plugins/NAME.sock``; :class:`PluginServer` does the same under your control
(``start``/``stop``/``with``). :mod:`libnet.plugin.wire` holds the JSON codecs that the
server and libnet's Docker plugin client (:mod:`libnet.drivers.remote.docker`) share.

The names load on first use, so the client side can import :mod:`libnet.plugin.wire`
without the HTTP server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from libnet.plugin._server import (
        CONNECTION_TIMEOUT,
        DEFAULT_SOCKET_DIR,
        DEFAULT_SPEC_DIR,
        MAX_BODY,
        PluginServer,
        ServeError,
        serve,
    )

__all__ = [
    "CONNECTION_TIMEOUT",
    "DEFAULT_SOCKET_DIR",
    "DEFAULT_SPEC_DIR",
    "MAX_BODY",
    "PluginServer",
    "ServeError",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("libnet.plugin._server"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
