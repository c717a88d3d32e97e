"""CNI errors: the spec's codes, and the one exception that carries them to stdout."""

from __future__ import annotations

from typing import Any

# Codes of the CNI specification (1.0 and 1.1).
INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODE_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
NOT_AVAILABLE = 50
"""STATUS: the plugin cannot serve ADDs now."""

# libnet's own codes (the spec leaves 100 and above to plugins).
LIBNET_ERROR = 100
"""A libnet operation failed; ``details`` names the error class."""
CHECK_FAILED = 101
"""CHECK found the container's interface, its addresses or the store differing from
``prevResult``."""
ALREADY_ATTACHED = 102
"""ADD for a (container, interface) pair that is attached already, or whose interface name
is taken in the container's namespace."""


class CniError(Exception):
    """An error the plugin reports as the spec's error JSON, with a non-zero exit status."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def to_json(self, cni_version: str) -> dict[str, Any]:
        """The error object of the spec: ``cniVersion``, ``code``, ``msg`` and ``details``."""
        out: dict[str, Any] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out
