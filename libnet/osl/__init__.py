"""libnet's OS layer: network namespaces and the interfaces joined to them (Linux).

The names are imported on first use: a process that touches no namespace never loads the
OS layer's system calls (ctypes) and netlink sockets.
"""

from typing import TYPE_CHECKING, Any

from libnet._lazy import Exports

if TYPE_CHECKING:
    from libnet.osl.namespace import (
        NAMESPACE_PREFIX,
        NETNS_DIR,
        InterfaceSpec,
        Namespace,
        OSLayerError,
        check_key,
        create_namespace,
        delete_namespace,
        namespace_names,
        run_in_namespace,
    )

__all__ = [
    "NAMESPACE_PREFIX",
    "NETNS_DIR",
    "InterfaceSpec",
    "Namespace",
    "OSLayerError",
    "check_key",
    "create_namespace",
    "delete_namespace",
    "namespace_names",
    "run_in_namespace",
]

_exports = Exports(__name__, {"libnet.osl.namespace": __all__})


def __getattr__(name: str) -> Any:
    return _exports.load(name)
