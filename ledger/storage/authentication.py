"""The state commitment the head's MAC covers: a fixed-shape hash tree over the projection
for reading one record (or its absence), and keyed digests per namespace for reading all of
one (docs/decisions/0014-trusted-state.md)."""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

# The tree: every record (ns, key) lives in one of 2^16 buckets, chosen by the first two bytes
# of SHA-256 over its framed namespace and key. A bucket's digest hashes its records, sorted;
# 256 pages each hold 256 bucket digests; the top holds the 256 page digests. Pages and the
# top are stored as 8 KiB rows (`state_nodes`: node 0 the top, node 1 + p page p); a row
# that is absent holds only empty children, so a small ledger stores few.
FANOUT = 256
BUCKETS = FANOUT * FANOUT
TOP = 0

_BUCKET = b"\x00"
_PAGE = b"\x01"
_TOP = b"\x02"
_NAMESPACES = b"\x03"
_ROOT = b"coop-ledger state root\n"


_LENGTH = struct.Struct(">I").pack
_sha256 = hashlib.sha256


def _framed(*parts: bytes) -> bytes:
    """Each part preceded by its length (4 bytes, big-endian)."""
    return b"".join([_LENGTH(len(p)) + p for p in parts])


def _sha(*parts: bytes) -> bytes:
    return _sha256(b"".join(parts)).digest()


@lru_cache(maxsize=1 << 16)
def bucket_of(ns: str, key: str) -> int:
    """The bucket of a record: the first two bytes of SHA-256 over its framed namespace and key
    (cached: a transaction asks for the same keys again when it writes them)."""
    n, k = ns.encode("utf-8"), key.encode("utf-8")
    return int.from_bytes(_sha256(_LENGTH(len(n)) + n + _LENGTH(len(k)) + k).digest()[:2], "big")


def page_of(bucket: int) -> int:
    return bucket // FANOUT


def node_of(page: int) -> int:
    """The `state_nodes` row that holds a page."""
    return 1 + page


_EMPTY_BUCKET = _sha256(_BUCKET).digest()


def bucket_digest(records: Mapping[tuple[str, str], bytes]) -> bytes:
    """SHA-256 over b"\\x00" and every record's framed namespace, key and value, in byte order."""
    if not records:
        return _EMPTY_BUCKET
    h = _sha256(_BUCKET)
    for n, k, v in sorted(
        (ns.encode("utf-8"), key.encode("utf-8"), value) for (ns, key), value in records.items()
    ):
        h.update(_LENGTH(len(n)) + n + _LENGTH(len(k)) + k + _LENGTH(len(v)) + v)
    return h.digest()


def page_digest(children: bytes) -> bytes:
    return _sha(_PAGE, children)


def top_digest(children: bytes) -> bytes:
    return _sha(_TOP, children)


EMPTY_BUCKET = _EMPTY_BUCKET
EMPTY_PAGE_CHILDREN = EMPTY_BUCKET * FANOUT
EMPTY_PAGE = page_digest(EMPTY_PAGE_CHILDREN)
EMPTY_TOP_CHILDREN = EMPTY_PAGE * FANOUT


# The namespaces: for each, the number of its records and the sum mod 2^256 of their keyed
# MACs (MSet-Add-Hash under a key derived from the log key: without the key no one can make
# another set of records with the same sum), so that reading a whole namespace proves it is
# complete without touching the tree.
MODULUS = 1 << 256


def record_mac(key: bytes, ns: str, record_key: str, value: bytes) -> int:
    """HMAC-SHA256 over the framed namespace, key and value, as an integer."""
    message = _framed(ns.encode("utf-8"), record_key.encode("utf-8"), value)
    return int.from_bytes(hmac.digest(key, message, hashlib.sha256), "big")


@dataclass
class NamespaceDigest:
    total: int = 0
    count: int = 0

    def add(self, mac: int) -> None:
        self.total = (self.total + mac) % MODULUS
        self.count += 1

    def remove(self, mac: int) -> None:
        self.total = (self.total - mac) % MODULUS
        self.count -= 1

    def as_bytes(self) -> bytes:
        return self.total.to_bytes(32, "big")


def namespaces_digest(namespaces: Mapping[str, NamespaceDigest]) -> bytes:
    rows = sorted((ns.encode("utf-8"), d) for ns, d in namespaces.items() if d.count)
    return _sha(
        _NAMESPACES, *(_framed(n, d.as_bytes(), d.count.to_bytes(8, "big")) for n, d in rows)
    )


def state_root(top_children: bytes, namespaces: Mapping[str, NamespaceDigest]) -> bytes:
    return _sha(_ROOT, top_digest(top_children), namespaces_digest(namespaces))


def head_mac(key: bytes, size: int, last_leaf_hash: bytes, state_root: bytes) -> bytes:
    """HMAC-SHA256 over b"head", the tree size, the last leaf hash and the state root."""
    message = b"head" + size.to_bytes(8, "big") + last_leaf_hash + state_root
    return hmac.digest(key, message, hashlib.sha256)


def same(a: bytes | None, b: bytes) -> bool:
    return a is not None and hmac.compare_digest(bytes(a), b)


@dataclass
class Commitment:
    """The whole commitment computed from a set of records (rebuild, and verify --log-key)."""

    pages: dict[int, bytes] = field(default_factory=dict)  # page -> children, non-empty pages
    top: bytes = EMPTY_TOP_CHILDREN
    namespaces: dict[str, NamespaceDigest] = field(default_factory=dict)
    buckets: dict[int, bytes] = field(default_factory=dict)  # bucket -> digest, non-empty

    @property
    def root(self) -> bytes:
        return state_root(self.top, self.namespaces)


def commitment(mac_key: bytes, records: Iterable[tuple[str, str, bytes]]) -> Commitment:
    by_bucket: dict[int, dict[tuple[str, str], bytes]] = {}
    namespaces: dict[str, NamespaceDigest] = {}
    for ns, key, value in records:
        by_bucket.setdefault(bucket_of(ns, key), {})[(ns, key)] = value
        namespaces.setdefault(ns, NamespaceDigest()).add(record_mac(mac_key, ns, key, value))
    out = Commitment(namespaces=namespaces)
    pages: dict[int, bytearray] = {}
    for bucket, contents in by_bucket.items():
        digest = bucket_digest(contents)
        out.buckets[bucket] = digest
        children = pages.setdefault(page_of(bucket), bytearray(EMPTY_PAGE_CHILDREN))
        slot = (bucket % FANOUT) * 32
        children[slot : slot + 32] = digest
    top = bytearray(EMPTY_TOP_CHILDREN)
    for page, children in pages.items():
        out.pages[page] = bytes(children)
        top[page * 32 : page * 32 + 32] = page_digest(bytes(children))
    out.top = bytes(top)
    return out
