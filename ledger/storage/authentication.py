"""The MACs that authenticate the projection and the head row, and the state digest over them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

# The state digest: the sum mod 2^256 of every record's MAC (a keyed multiset hash,
# MSet-Add-Hash), so adding, removing or putting back an earlier version of any one record
# changes it, and the writer keeps it up to date with one subtraction and one addition.
MODULUS = 1 << 256
EMPTY_DIGEST = bytes(32)


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def record_mac(key: bytes, ns: str, record_key: str, value: bytes) -> bytes:
    """HMAC-SHA256 over the length-prefixed namespace, key and value bytes."""
    message = _framed(ns.encode("utf-8"), record_key.encode("utf-8"), value)
    return hmac.digest(key, message, hashlib.sha256)


def head_mac(key: bytes, size: int, last_leaf_hash: bytes, state_digest: bytes) -> bytes:
    """HMAC-SHA256 over b"head", the tree size, the last leaf hash and the state digest."""
    message = b"head" + size.to_bytes(8, "big") + last_leaf_hash + state_digest
    return hmac.digest(key, message, hashlib.sha256)


def to_int(digest: bytes) -> int:
    return int.from_bytes(digest, "big")


def to_bytes(value: int) -> bytes:
    return (value % MODULUS).to_bytes(32, "big")


def digest_of(macs: Iterable[bytes]) -> bytes:
    return to_bytes(sum(to_int(m) for m in macs))


def same(a: bytes | None, b: bytes) -> bool:
    return a is not None and hmac.compare_digest(bytes(a), b)
