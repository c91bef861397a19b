"""The write-back cache both views of the projection share: puts and deletes held until the
transaction flushes them, and scans that see them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ledger.encoding import loads, record_bytes
from ledger.state import Record


class Overlay:
    """Records read (canonical bytes, None: absent) and records changed, by (ns, key)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], bytes | None] = {}
        self._dirty: set[tuple[str, str]] = set()

    def put(self, ns: str, key: str, value: Any) -> None:
        self._cache[(ns, key)] = record_bytes(value)
        self._dirty.add((ns, key))

    def delete(self, ns: str, key: str) -> None:
        self._cache[(ns, key)] = None
        self._dirty.add((ns, key))

    def _merged(self, ns: str, stored: Mapping[str, bytes]) -> Iterator[tuple[str, Record]]:
        """A namespace's stored records with this transaction's changes over them, in key order."""
        merged: dict[str, bytes | None] = dict(stored)
        for (cns, key), raw in self._cache.items():
            if cns == ns and (cns, key) in self._dirty:
                merged[key] = raw
        for key in sorted(merged):
            raw = merged[key]
            if raw is not None:
                yield key, loads(raw)
