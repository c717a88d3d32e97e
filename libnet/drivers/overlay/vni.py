"""VXLAN network identifiers, allocated from a bitmap kept in a Store.

The bitmap is split into blocks of :data:`BLOCK_BITS` VNIs, one key each
(``{prefix}vni/{block:04x}``, hex of ``BLOCK_BITS // 8`` bytes); a block never written is
all free, so an empty store needs no set-up and a value stays far below etcd's request
limit. Every change is a compare-and-swap of one block, retried on a conflict, so hosts
sharing the store never hand out a VNI twice. The default range starts at 4096 as
Docker's does, leaving the low VNIs to networks that name theirs.
"""

from __future__ import annotations

from libnet.errors import InvalidOptionError, PoolExhaustedError, StaleVersionError
from libnet.store import DriverStore, KVPair, Store

__all__ = ["BLOCK_BITS", "FIRST", "LAST", "VniAllocator"]

FIRST = 4096
LAST = (1 << 24) - 1
BLOCK_BITS = 4096
_RETRIES = 64


class VniAllocator:
    """Allocates VNIs in ``[first, last]`` from blocks under ``vni/`` in a driver's view of
    the global store (``store``: a DriverStore, or a Store to view under ``prefix``)."""

    def __init__(
        self,
        store: Store | DriverStore,
        prefix: str = "overlay/",
        first: int = FIRST,
        last: int = LAST,
    ) -> None:
        if not 1 <= first <= last <= LAST:
            raise InvalidOptionError(f"VNI range {first}-{last} must lie within 1-{LAST}")
        self.view = store if isinstance(store, DriverStore) else DriverStore(store, prefix)
        self.prefix = self.view.prefix
        self.first = first
        self.last = last

    def _key(self, block: int) -> str:
        return f"vni/{block:04x}"

    def _read(self, block: int) -> tuple[bytearray, KVPair | None]:
        pair = self.view.find(self._key(block))
        if pair is None:
            return bytearray(BLOCK_BITS // 8), None
        return bytearray(bytes.fromhex(pair.value.decode())), pair

    def _write(self, block: int, bits: bytearray, previous: KVPair | None) -> None:
        self.view.compare_and_swap(self._key(block), bits.hex().encode(), previous)

    def allocate(self) -> int:
        """A free VNI of the range, now taken; PoolExhaustedError when none is left."""
        block = self.first // BLOCK_BITS
        while block * BLOCK_BITS <= self.last:
            for _ in range(_RETRIES):
                bits, pair = self._read(block)
                vni = _first_free(bits, block, self.first, self.last)
                if vni is None:
                    break
                _set(bits, vni, True)
                try:
                    self._write(block, bits, pair)
                except StaleVersionError:
                    continue
                return vni
            else:
                raise StaleVersionError(self._key(block), "kept changing while a VNI was taken")
            block += 1
        raise PoolExhaustedError(
            f"no VNI is free in {self.first}-{self.last}: delete unused overlay networks, or "
            "name a VNI with option com.docker.network.driver.overlay.vxlanid_list"
        )

    def reserve(self, vni: int, what: str = "") -> None:
        """Take ``vni`` (any valid VNI, in the range or not); an error if it is taken."""
        if not 1 <= vni <= LAST:
            raise InvalidOptionError(f"VNI {vni} must be from 1 to {LAST}")
        block = vni // BLOCK_BITS
        for _ in range(_RETRIES):
            bits, pair = self._read(block)
            if _get(bits, vni):
                raise InvalidOptionError(
                    f"VNI {vni} is in use by another overlay network{what}; choose another "
                    "in com.docker.network.driver.overlay.vxlanid_list"
                )
            _set(bits, vni, True)
            try:
                self._write(block, bits, pair)
            except StaleVersionError:
                continue
            return
        raise StaleVersionError(self._key(block), "kept changing while a VNI was reserved")

    def release(self, vni: int) -> None:
        """Free ``vni``; free already is fine."""
        block = vni // BLOCK_BITS
        for _ in range(_RETRIES):
            bits, pair = self._read(block)
            if pair is None or not _get(bits, vni):
                return
            _set(bits, vni, False)
            try:
                if any(bits):
                    self._write(block, bits, pair)
                else:  # an empty block is no key: the store holds only what is taken
                    self.view.compare_and_delete(pair.key, pair)
            except StaleVersionError:
                continue
            return
        raise StaleVersionError(self._key(block), "kept changing while a VNI was released")

    def allocated(self, vni: int) -> bool:
        return _get(self._read(vni // BLOCK_BITS)[0], vni)


def _get(bits: bytearray, vni: int) -> bool:
    offset = vni % BLOCK_BITS
    return bool(bits[offset // 8] & (1 << (offset % 8)))


def _set(bits: bytearray, vni: int, value: bool) -> None:
    offset = vni % BLOCK_BITS
    if value:
        bits[offset // 8] |= 1 << (offset % 8)
    else:
        bits[offset // 8] &= ~(1 << (offset % 8)) & 0xFF


def _first_free(bits: bytearray, block: int, first: int, last: int) -> int | None:
    base = block * BLOCK_BITS
    for offset in range(max(first - base, 0), min(last - base, BLOCK_BITS - 1) + 1):
        if not bits[offset // 8] & (1 << (offset % 8)):
            return base + offset
    return None
