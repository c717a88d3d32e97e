"""A sparse bitmap of allocated offsets: fixed-size chunks held as Python ints.

A chunk covers :data:`CHUNK_BITS` consecutive offsets; a chunk with no bit set is not
stored at all, so memory follows what is allocated, not the size of the pool (an IPv6
/64 with 100,000 addresses in use holds about 100 chunks). Finding the lowest free
offset skips an absent chunk at once and a present one with a few integer operations.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = [
    "CHUNK_BITS",
    "CHUNK_BYTES",
    "CHUNK_MASK",
    "CHUNK_SHIFT",
    "AddressSet",
    "decode_chunk",
    "encode_chunk",
]

CHUNK_SHIFT = 10
CHUNK_BITS = 1 << CHUNK_SHIFT
"""Offsets per chunk (1024: 128 bytes when full)."""

CHUNK_BYTES = CHUNK_BITS // 8
CHUNK_MASK = _MASK = CHUNK_BITS - 1


def encode_chunk(word: int) -> bytes:
    """A chunk's bits as :data:`CHUNK_BYTES` little-endian bytes."""
    return word.to_bytes(CHUNK_BYTES, "little")


def decode_chunk(data: bytes) -> int:
    """The inverse of :func:`encode_chunk`."""
    return int.from_bytes(data, "little")


class AddressSet:
    """The set of allocated offsets of one pool.

    Changes are made in two steps so the caller can persist a chunk before the set
    changes: :meth:`with_bit` / :meth:`without_bit` compute the chunk's new value, and
    :meth:`store` applies it.
    """

    __slots__ = ("chunks", "count")

    def __init__(self, chunks: dict[int, int] | None = None) -> None:
        self.chunks: dict[int, int] = {i: w for i, w in (chunks or {}).items() if w}
        self.count = sum(w.bit_count() for w in self.chunks.values())

    def __len__(self) -> int:
        return self.count

    def __contains__(self, offset: object) -> bool:
        if not isinstance(offset, int):
            return False
        word = self.chunks.get(offset >> CHUNK_SHIFT)
        return word is not None and (word >> (offset & _MASK)) & 1 == 1

    def __iter__(self) -> Iterator[int]:
        """The allocated offsets in increasing order."""
        for index in sorted(self.chunks):
            word = self.chunks[index]
            base = index << CHUNK_SHIFT
            while word:
                low = word & -word
                yield base + low.bit_length() - 1
                word ^= low

    def with_bit(self, offset: int) -> tuple[int, int]:
        """(chunk index, the chunk with ``offset`` set)."""
        index = offset >> CHUNK_SHIFT
        return index, self.chunks.get(index, 0) | (1 << (offset & _MASK))

    def without_bit(self, offset: int) -> tuple[int, int]:
        """(chunk index, the chunk with ``offset`` cleared)."""
        index = offset >> CHUNK_SHIFT
        return index, self.chunks.get(index, 0) & ~(1 << (offset & _MASK))

    def store(self, index: int, word: int, delta: int) -> None:
        """Make chunk ``index`` hold ``word``, ``delta`` being the change in bits set."""
        if word:
            self.chunks[index] = word
        else:
            self.chunks.pop(index, None)
        self.count += delta

    def first_free(self, lo: int, hi: int) -> int | None:
        """The lowest offset in ``[lo, hi]`` that is not allocated, None if there is none."""
        chunks = self.chunks
        pos = lo
        while pos <= hi:
            index = pos >> CHUNK_SHIFT
            word = chunks.get(index)
            if word is None:
                return pos
            bit = pos & _MASK
            rest = word >> bit
            zero = (~rest & (rest + 1)).bit_length() - 1  # lowest clear bit of rest
            if bit + zero < CHUNK_BITS:
                pos += zero
                return pos if pos <= hi else None
            pos = (index + 1) << CHUNK_SHIFT
        return None
