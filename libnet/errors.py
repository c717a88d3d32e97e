"""One exception tree for libnet, with libnetwork's error categories as base classes.

Callers catch a category (``NotFoundError``, ``ForbiddenError``, ...) to decide what to do,
or a specific class to handle one case. Every message names the object concerned and, where
there is one, what the user can do about it.
"""

from __future__ import annotations

__all__ = [
    "ActiveContainerError",
    "ActiveEndpointsError",
    "AddressInUseError",
    "AddressNotAllocatedError",
    "AmbiguousIDError",
    "BadRequestError",
    "DriverError",
    "DriverRegistrationError",
    "EndpointExistsError",
    "EndpointInSandboxError",
    "EndpointNotFoundError",
    "ForbiddenError",
    "InternalError",
    "InvalidAddressError",
    "InvalidNameError",
    "InvalidOptionError",
    "InvalidPoolError",
    "KeyNotFoundError",
    "LibnetError",
    "LockTimeoutError",
    "NetworkExistsError",
    "NetworkNotFoundError",
    "NotFoundError",
    "OperationTimeoutError",
    "PluginLoadError",
    "PoolExhaustedError",
    "PoolNotFoundError",
    "PoolOverlapError",
    "SandboxExistsError",
    "SandboxNotFoundError",
    "StaleVersionError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "UnknownDriverError",
    "UnsupportedOperationError",
]


class LibnetError(Exception):
    """Base class of every error libnet raises on purpose."""


# Categories (libnetwork's types.BadRequestError, NotFoundError, ForbiddenError, ...).


class BadRequestError(LibnetError, ValueError):
    """The request is malformed: fix the input and try again."""


class NotFoundError(LibnetError, LookupError):
    """The object asked for does not exist."""


class ForbiddenError(LibnetError):
    """The request is well formed but the current state does not allow it."""


class UnsupportedOperationError(LibnetError, NotImplementedError):
    """The driver does not implement this operation (libnetwork's NotImplemented)."""


class OperationTimeoutError(LibnetError, TimeoutError):
    """The operation did not finish in time; it may succeed if retried."""


class InternalError(LibnetError):
    """Something failed inside libnet or a driver; the message says what."""


# Specific errors.


class InvalidNameError(BadRequestError):
    """A name is empty, too long or contains characters that are not allowed."""


class InvalidOptionError(BadRequestError):
    """An option, label or argument has a value that cannot be used."""


class DriverRegistrationError(BadRequestError):
    """A driver could not be registered (bad name, missing methods, bad capability)."""


class UnknownDriverError(NotFoundError):
    """No driver serves the requested network type."""


class NetworkNotFoundError(NotFoundError):
    """No network has the given name or ID."""


class EndpointNotFoundError(NotFoundError):
    """No endpoint has the given name or ID on this network."""


class SandboxNotFoundError(NotFoundError):
    """No sandbox has the given ID."""


class NetworkExistsError(ForbiddenError):
    """A network with this name already exists."""


class EndpointExistsError(ForbiddenError):
    """An endpoint with this name already exists on the network."""


class SandboxExistsError(ForbiddenError):
    """A sandbox for this container already exists."""


class ActiveEndpointsError(ForbiddenError):
    """The network still has endpoints: delete them first."""


class ActiveContainerError(ForbiddenError):
    """The endpoint is joined to a sandbox: leave it first, or delete with force."""


class EndpointInSandboxError(ForbiddenError):
    """The endpoint is already joined to a sandbox (an endpoint joins at most one)."""


class DriverError(InternalError):
    """A driver failed or returned something that breaks the driver contract."""


class PluginLoadError(InternalError):
    """A plugin failed to load and strict plugin loading is on."""


# The state store (libnet.store).


class StoreError(InternalError):
    """The state store cannot be opened, read or written; the message names the file."""


class StoreCorruptError(StoreError):
    """The state file is not a libnet state database or is damaged; libnet leaves it untouched."""


class StoreVersionError(StoreError):
    """The state file was written by a newer libnet, with a schema this version does not know."""


class StoreReadOnlyError(StoreError):
    """A command that only reads the state was asked to write it (its store is read-only)."""


class StoreBusyError(StoreError, OperationTimeoutError):
    """Another process held the state store's write lock for longer than the busy timeout."""


class LockTimeoutError(StoreBusyError):
    """Another operation held a network's or sandbox's lock for longer than the timeout;
    the message names the object and the process holding it. Retry once it is done."""


class KeyNotFoundError(NotFoundError):
    """The state store holds no value at the key (``key`` names it)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found in the state store")
        self.key = key

    def __reduce__(self) -> tuple[type[KeyNotFoundError], tuple[str]]:
        return (type(self), (self.key,))


class StaleVersionError(ForbiddenError):
    """An atomic write found the key changed since it was read: read it again and retry."""

    retryable = True

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"key {key!r} changed since it was read ({reason}); read it and retry")
        self.key = key
        self.reason = reason

    def __reduce__(self) -> tuple[type[StaleVersionError], tuple[str, str]]:
        return (type(self), (self.key, self.reason))


# The distributed store (libnet.store.etcd) and its locks.

__all__ += [
    "StoreCompactedError",
    "StoreLeaseLostError",
    "StoreLimitError",
    "StoreLockLostError",
    "StoreLockTimeoutError",
    "StoreOutcomeUnknownError",
    "StoreUnavailableError",
]


class StoreUnavailableError(StoreError, OperationTimeoutError):
    """No member of the distributed store answered within the timeout: nothing was written.

    Retry once the cluster is reachable again; the message names the endpoints tried.
    """

    retryable = True


class StoreOutcomeUnknownError(StoreUnavailableError):
    """A conditional write was sent but its answer was lost: it may or may not have applied.

    Read the keys it concerned, then decide whether to retry.
    """


class StoreLimitError(BadRequestError):
    """A request exceeds a limit of the store (operations per transaction, request size)."""


class StoreLockTimeoutError(OperationTimeoutError):
    """A lock stayed held by someone else for longer than the wait; the message names them."""

    retryable = True


class StoreLockLostError(StoreError):
    """A lock's lease expired (or it was released) before its holder committed: nothing written."""


class StoreCompactedError(StoreError):
    """A watch asked for events from a revision the store has compacted away: list again.

    ``revision`` is the oldest revision still kept; a watcher re-lists the prefix (which
    gives a current revision) and watches again from there.
    """

    def __init__(self, message: str, revision: int = 0) -> None:
        super().__init__(message)
        self.revision = revision


class StoreLeaseLostError(StoreError):
    """A lease expired or was revoked: keys written under it are gone; grant a new one."""


class AmbiguousIDError(BadRequestError):
    """An ID prefix matches more than one object: give more characters."""


# IP address management (libnet.ipam).


class InvalidPoolError(BadRequestError):
    """A pool request or pool configuration is malformed (bad CIDR, range outside subnet...)."""


class InvalidAddressError(BadRequestError):
    """An address is malformed, outside its pool, or one that is never handed out."""


class PoolNotFoundError(NotFoundError):
    """No pool has the given pool ID (never requested, or released)."""


class PoolOverlapError(ForbiddenError):
    """The requested pool overlaps a pool already allocated in the same address space."""


class PoolExhaustedError(ForbiddenError):
    """No address is left in the pool, or no default pool is left to hand out."""


class AddressInUseError(ForbiddenError):
    """The requested address is already allocated in its pool."""


class AddressNotAllocatedError(NotFoundError):
    """The address to release is not allocated (released twice, or never handed out)."""


# -- Errors first defined next to the code that raises them --------------------------------
# They live here so that every libnet error is in one tree; their old modules re-export
# them, so imports from there keep working.

__all__ += ["InjectedFault", "KernelError", "OSLayerError"]


class OSLayerError(InternalError):
    """Programming a network namespace failed."""


class KernelError(InternalError):
    """A kernel operation of libnet's OS layer or bridge driver failed."""


class InjectedFault(StoreError):
    """The failure the conformance suite injects into the state store on purpose."""


# -- The Docker plugin protocol (libnet.dockerplugin) -----------------------------------
# Client side: finding, reaching and calling a Docker plugin; both sides: the wire format;
# server side: serving a libnet driver as a Docker plugin.

__all__ += [
    "DriverFailure",
    "PluginCallError",
    "PluginError",
    "PluginNotFoundError",
    "PluginProtocolError",
    "PluginSpecError",
    "PluginTimeoutError",
    "PluginUnavailableError",
    "ServeError",
    "ServiceClosedError",
    "UnknownMethodError",
    "WireError",
]


class WireError(BadRequestError):
    """A request or reply does not have the shape the plugin protocol gives it."""


class PluginNotFoundError(UnknownDriverError):
    """No Docker plugin of that name exists in the plugin directories."""


class PluginSpecError(InvalidOptionError):
    """A plugin's ``.spec`` or ``.json`` file, or its socket path, cannot be used."""


class PluginError(DriverError):
    """A Docker plugin failed, could not be reached, or broke the protocol."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(message)
        self.plugin = plugin


class PluginCallError(PluginError):
    """The plugin answered a call with an error; ``message`` is its own text."""

    def __init__(self, plugin: str, method: str, status: int, message: str, where: str) -> None:
        super().__init__(
            plugin,
            f"Docker plugin {plugin!r} ({where}) failed in {method}: {message}",
        )
        self.method = method
        self.status = status
        self.message = message


class PluginUnavailableError(PluginError):
    """The plugin does not accept connections (after retrying within the budget)."""


class PluginTimeoutError(PluginError, OperationTimeoutError):
    """The plugin accepted the call but did not answer within the timeout."""


class PluginProtocolError(PluginError):
    """The plugin's answer is not HTTP, not JSON, empty, or too large."""


class ServeError(LibnetError):
    """The plugin cannot start serving; the message says why and what to do."""


class UnknownMethodError(LibnetError):
    """The path names no method this plugin implements (answered 404)."""


class ServiceClosedError(LibnetError):
    """The plugin is shutting down (answered 503)."""


class DriverFailure(LibnetError):
    """The driver (or the plugin's own bookkeeping) failed; answered 500 with ``Err``."""
