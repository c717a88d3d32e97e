"""Serving libnet drivers to Docker: the network (and IPAM) plugin protocol, server side.

``serve("bridge")`` (or ``libnet serve bridge``) makes a libnet network driver, built in or
from an entry point, and optionally an IPAM driver, one Docker plugin listening at
``/run/docker/plugins/NAME.sock``; :class:`PluginServer` does the same under your control
(``start``/``stop``/``with``). The messages come from :mod:`libnet.dockerplugin.api`, as
for libnet's Docker plugin client.

On TCP it speaks TLS (:class:`ServerTLS`; with a client CA, mutual TLS) and writes the
``NAME.json`` spec Docker connects with, or, explicitly asked, plain HTTP, which has no
authentication.

The server sits above the controller (it creates one to resolve and call drivers); nothing
on the client side imports it.
"""

from libnet.dockerplugin.server._server import (
    CONNECTION_TIMEOUT,
    DEFAULT_SOCKET_DIR,
    DEFAULT_SPEC_DIR,
    HANDSHAKE_TIMEOUT,
    MAX_BODY,
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT,
    PluginServer,
    ServerTLS,
    serve,
)
from libnet.errors import ServeError

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
