"""libnet's OS layer: network namespaces and the interfaces joined to them (Linux)."""

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
