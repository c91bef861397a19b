"""Replay state for large audits: the records in a temporary SQLite file, recent ones in memory.

An auditor replaying a national ledger holds every projection record (members, dwellings,
balances, the effect of every correctable entry): hundreds of megabytes at a million
entries. SpillState keeps the records an entry touches in a bounded in-memory cache and the
rest in a throw-away SQLite file (no journal, no fsync: it is rebuilt by the next replay),
so verifying a bundle streams in bounded memory (docs/decisions/0010-perf-verification.md).
It behaves exactly as MemoryState: canonical bytes in, fresh dicts out, scans in key order.

A small ledger never leaves memory: the file is opened at the first flush, after
PENDING_RECORDS changed records. It is SQLite's private temporary database (the empty file
name), created in SQLITE_TMPDIR or TMPDIR and unlinked as soon as it is opened: it has no
name on disk, and closing the state or ending the process, even by a kill, frees it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from ledger.encoding import loads, record_bytes

_MISSING = object()
# 8 MiB of Bloom filter: with three hashes, false positives stay near 0.02% at the 1.3
# million keys a 1,000,000-entry replay writes.
BLOOM_BITS = 1 << 26
_SHIFTS = (0, 19, 38)  # three slices of the 64-bit hash
# Changed records held in memory before they are written to the file (the first write
# creates it): a ledger that changes fewer records is verified without a file.
PENDING_RECORDS = 10_000


class SpillState:
    """A State whose records live in a temporary SQLite file, with a bounded cache."""

    def __init__(
        self,
        cache_records: int = 20_000,
        pending_records: int | None = None,
        bloom_bits: int = BLOOM_BITS,
    ) -> None:
        self._db: sqlite3.Connection | None = None  # the file, from the first flush on
        self._cache: dict[tuple[str, str], bytes | None] = {}
        # Most reads the cache cannot answer are of keys that were never written (a new
        # member, a new sale): a Bloom filter of the keys in the file answers those without
        # a query. A false positive (about 1 in 1,000 at a million entries) only costs the
        # query it would have made anyway.
        if bloom_bits < 8 or bloom_bits & (bloom_bits - 1):
            raise ValueError(f"bloom_bits must be a power of 2 of at least 8, found {bloom_bits}")
        self._bloom = bytearray(bloom_bits // 8)
        self._bloom_mask = bloom_bits - 1
        self._pending: dict[tuple[str, str], bytes | None] = {}
        self._pending_keys: defaultdict[str, set[str]] = defaultdict(set)  # pending, by namespace
        self._cache_records = cache_records
        self._pending_records = PENDING_RECORDS if pending_records is None else pending_records

    # -- the State protocol ---------------------------------------------------------------------

    def get_raw(self, ns: str, key: str) -> bytes | None:
        k = (ns, key)
        raw = self._pending.get(k, _MISSING)
        if raw is _MISSING:
            raw = self._cache.get(k, _MISSING)
        if raw is _MISSING and not self._maybe_in_file(k):
            raw = None
            if len(self._cache) >= self._cache_records:
                self._cache.clear()
            self._cache[k] = raw
        if raw is _MISSING:
            row = (
                self._file()
                .execute("SELECT value FROM rec WHERE ns = ? AND key = ?", (ns, key))
                .fetchone()
            )
            raw = None if row is None else bytes(row[0])
            if len(self._cache) >= self._cache_records:
                self._cache.clear()
            self._cache[k] = raw
        return raw  # type: ignore[return-value]

    def get(self, ns: str, key: str) -> Any:
        raw = self.get_raw(ns, key)
        return None if raw is None else loads(raw)

    def put(self, ns: str, key: str, value: Any) -> None:
        self._pending[(ns, key)] = record_bytes(value)
        self._pending_keys[ns].add(key)
        if len(self._pending) >= self._pending_records:
            self.flush()

    def delete(self, ns: str, key: str) -> None:
        self._pending[(ns, key)] = None
        self._pending_keys[ns].add(key)
        if len(self._pending) >= self._pending_records:
            self.flush()

    def scan(self, ns: str) -> Iterator[tuple[str, Any]]:
        # The file's rows with the pending changes laid over them: a scan does not force the
        # pending batch to disk (a lease grant scans the waiting list at every grant).
        merged: dict[str, bytes | None] = {}
        if self._db is not None:
            rows = self._db.execute("SELECT key, value FROM rec WHERE ns = ?", (ns,))
            merged = {str(key): bytes(raw) for key, raw in rows}
        for key in self._pending_keys.get(ns, ()):
            merged[key] = self._pending[(ns, key)]
        for key in sorted(merged):
            raw = merged[key]
            if raw is not None:
                yield key, loads(raw)

    # -- the rest -------------------------------------------------------------------------------

    def _file(self) -> sqlite3.Connection:
        """The spill file, opened on first use: SQLite's private temporary database, which
        is unlinked as soon as it is created."""
        if self._db is None:
            db = sqlite3.connect("", isolation_level=None)
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            # A rowid table, not WITHOUT ROWID: values run to kilobytes (a dwelling's record
            # carries its history), and SQLite keeps large rows better out of the key's B-tree.
            db.execute(
                "CREATE TABLE rec (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
                "PRIMARY KEY (ns, key))"
            )
            self._db = db
        return self._db

    def _maybe_in_file(self, k: tuple[str, str]) -> bool:
        """False when the key was certainly never written to the file (the Bloom filter)."""
        h = hash(k)
        bloom, mask = self._bloom, self._bloom_mask
        for shift in _SHIFTS:
            bit = (h >> shift) & mask
            if not bloom[bit >> 3] & (1 << (bit & 7)):
                return False
        return True

    def _remember_in_file(self, keys: Iterable[tuple[str, str]]) -> None:
        bloom, mask = self._bloom, self._bloom_mask
        for k in keys:
            h = hash(k)
            for shift in _SHIFTS:
                bit = (h >> shift) & mask
                bloom[bit >> 3] |= 1 << (bit & 7)

    def flush(self) -> None:
        if not self._pending:
            return
        upserts = [(ns, key, raw) for (ns, key), raw in self._pending.items() if raw is not None]
        deletes = [(ns, key) for (ns, key), raw in self._pending.items() if raw is None]
        db = self._file()
        db.execute("BEGIN")
        if upserts:
            self._remember_in_file((ns, key) for ns, key, _ in upserts)
            db.executemany(
                "INSERT INTO rec (ns, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
                upserts,
            )
        if deletes:
            db.executemany("DELETE FROM rec WHERE ns = ? AND key = ?", deletes)
        db.execute("COMMIT")
        if len(self._cache) + len(self._pending) > self._cache_records:
            self._cache.clear()
        self._cache.update(self._pending)
        self._pending = {}
        self._pending_keys = defaultdict(set)

    def snapshot(self) -> dict[tuple[str, str], bytes]:
        self.flush()
        if self._db is None:
            return {}
        return {
            (str(ns), str(key)): bytes(raw)
            for ns, key, raw in self._db.execute("SELECT ns, key, value FROM rec")
        }

    def close(self) -> None:
        """Close the file, which frees it (it has no name to remove)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
