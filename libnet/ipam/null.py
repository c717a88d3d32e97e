"""The built-in ``null`` IPAM driver: one catch-all pool and no addresses, as libnetwork's.

Networks that need no addresses (``host``, ``none``) use it: request_pool returns pool
``0.0.0.0/0`` with ID ``null/0.0.0.0/0`` in address space ``null``, and request_address
returns no address. Specific pools, sub-pools and IPv6 pools are refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from libnet.errors import InvalidPoolError, PoolNotFoundError
from libnet.ipam._api import Ipam

__all__ = ["NULL_ADDRESS_SPACE", "NULL_POOL", "NULL_POOL_ID", "NullIpam"]

NULL_ADDRESS_SPACE = "null"
"""The null IPAM's only address space (both local and global default)."""

NULL_POOL = "0.0.0.0/0"
"""The null IPAM's only pool."""

NULL_POOL_ID = f"{NULL_ADDRESS_SPACE}/{NULL_POOL}"
"""The ID of the null IPAM's only pool."""


class NullIpam(Ipam):
    """An IPAM driver that hands out no addresses. Stateless."""

    def get_default_address_spaces(self) -> tuple[str, str]:
        return NULL_ADDRESS_SPACE, NULL_ADDRESS_SPACE

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        if address_space != NULL_ADDRESS_SPACE:
            raise InvalidPoolError(
                f"unknown address space {address_space!r}: the null IPAM driver serves only "
                f"{NULL_ADDRESS_SPACE!r}"
            )
        if pool:
            raise InvalidPoolError("the null IPAM driver does not handle specific pool requests")
        if sub_pool:
            raise InvalidPoolError("the null IPAM driver does not handle sub-pool requests")
        if v6:
            raise InvalidPoolError("the null IPAM driver does not handle IPv6 pool requests")
        return NULL_POOL_ID, NULL_POOL, {}

    def release_pool(self, pool_id: str) -> None:
        """Nothing to release (libnetwork's null driver accepts any pool ID here)."""

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        _check_pool(pool_id)
        return None, {}

    def release_address(self, pool_id: str, address: str) -> None:
        _check_pool(pool_id)


def _check_pool(pool_id: str) -> None:
    if pool_id != NULL_POOL_ID:
        raise PoolNotFoundError(
            f"unknown pool ID {pool_id!r}: the null IPAM driver has only {NULL_POOL_ID!r}"
        )
