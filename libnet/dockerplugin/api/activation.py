"""Activation and the envelope of every call: paths, media types, the manifest, errors.

The engine POSTs ``/Plugin.Activate`` and reads the manifest (:class:`ActivateResponse`);
then each method is ``POST /<Interface>.<Method>`` with ``Accept: ACCEPT``. An error answer
is ``{"Err": message}`` (IPAM plugins may say ``Error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from libnet.dockerplugin.api._codec import TEXTS, Fields, Message, wire

__all__ = [
    "ACCEPT",
    "ACTIVATE",
    "CONTENT_TYPE",
    "IPAM_DRIVER",
    "NETWORK_DRIVER",
    "ActivateResponse",
    "error_body",
    "error_message",
]

ACTIVATE = "/Plugin.Activate"
"""The activation path; answered with the manifest for any HTTP method."""

NETWORK_DRIVER = "NetworkDriver"
"""The interface name of network drivers in the manifest and in method paths."""

IPAM_DRIVER = "IpamDriver"
"""The interface name of IPAM drivers in the manifest and in method paths."""

ACCEPT = "application/vnd.docker.plugins.v1.2+json"
"""What the engine sends as ``Accept``."""

CONTENT_TYPE = "application/vnd.docker.plugins.v1+json"
"""What a plugin answers as ``Content-Type`` (the engine does not check it)."""


def error_body(message: str) -> dict[str, str]:
    """The body of an error answer: ``{"Err": message}``."""
    return {"Err": message}


def error_message(body: object) -> str | None:
    """The non-empty ``Err`` (or IPAM's ``Error``) of an answer, else None."""
    if not isinstance(body, Mapping):
        return None
    fields = Fields(body, "answer")
    for key in ("Err", "Error"):
        value = fields.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class ActivateResponse(Message, what="Plugin.Activate answer"):
    """``/Plugin.Activate``'s manifest: the interfaces the plugin implements."""

    implements: tuple[str, ...] = wire("Implements", TEXTS)
