"""The writer's view of the projection: every record it reads, and every absence, is proved
against the state commitment the head's MAC covers (docs/decisions/0014-trusted-state.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ledger.encoding import loads
from ledger.errors import IntegrityError
from ledger.storage import authentication as auth
from ledger.storage.overlay import Overlay

if TYPE_CHECKING:
    from ledger.storage.store import Raw

_WAY_OUT = "the database was changed outside coop-ledger; run coopledger rebuild"
_IN_CLAUSE = 500  # bucket numbers per batched select


def _changed(what: str) -> IntegrityError:
    return IntegrityError(f"{what} fails its authentication: {_WAY_OUT}")


def _into_buckets(
    rows: Sequence[tuple[Any, ...]], loaded: dict[int, dict[tuple[str, str], bytes]]
) -> None:
    """Sort projection rows (ns, key, value, bucket) into their buckets, refusing a row whose
    bucket column is not the one its namespace and key give."""
    for ns, key, value, bucket in rows:
        k = (str(ns), str(key))
        if auth.bucket_of(*k) != bucket:
            raise _changed(f"projection record {k[0]}/{k[1]} (stored in the wrong bucket)")
        loaded[int(bucket)][k] = bytes(value)


class TrustedState(Overlay):
    """The projection seen through a write-back cache, like the readers' DbState, except that
    nothing is believed before it is proved: `start` checks the head's MAC over the state
    root and loads the top of the tree and the namespace digests; reading a record loads its
    whole bucket and checks the bucket against its page and the page against the top (so a
    record deleted, added, changed or put back to an earlier version is refused); reading a
    whole namespace checks its records against the namespace's keyed digest. `flush` writes
    the changed records and the changed parts of the commitment, and `root` is then the new
    state root for the head's MAC."""

    def __init__(self, raw: Raw, mac_key: bytes) -> None:
        self.raw = raw
        self.mac_key = mac_key
        self.root: bytes | None = None
        self._top = bytearray(auth.EMPTY_TOP_CHILDREN)
        self._pages: dict[int, bytearray] = {}
        self._namespaces: dict[str, auth.NamespaceDigest] = {}
        # Each loaded bucket's records as stored (proved), and the records rules have read
        # or written (None: absent).
        self._buckets: dict[int, dict[tuple[str, str], bytes]] = {}
        super().__init__()

    # -- the commitment ------------------------------------------------------------------------

    def start(self, root: bytes | None, fresh: bool) -> None:
        """Load and prove the top of the tree and the namespace digests against `root` (the
        head's, its MAC already checked); a fresh database starts from the empty state."""
        if fresh:
            self.root = auth.state_root(bytes(self._top), self._namespaces)
            return
        row = self.raw.first("SELECT children FROM state_nodes WHERE node = ?", (auth.TOP,))
        if row is not None:
            top = bytes(row[0])
            if len(top) != len(auth.EMPTY_TOP_CHILDREN):
                raise _changed("the top of the state tree")
            self._top = bytearray(top)
        for ns, digest, count in self.raw.rows("SELECT ns, digest, count FROM state_namespaces"):
            total = bytes(digest)
            if len(total) != 32 or int(count) < 0:
                raise _changed(f"the digest of namespace {ns}")
            self._namespaces[str(ns)] = auth.NamespaceDigest(
                int.from_bytes(total, "big"), int(count)
            )
        if root is None or not auth.same(root, auth.state_root(bytes(self._top), self._namespaces)):
            raise _changed("the state tree's top or a namespace digest")
        self.root = root

    def _load_pages(self, pages: Sequence[int]) -> None:
        wanted = sorted({p for p in pages if p not in self._pages})
        if not wanted:
            return
        found: dict[int, bytes] = {}
        for i in range(0, len(wanted), _IN_CLAUSE):
            part = [auth.node_of(p) for p in wanted[i : i + _IN_CLAUSE]]
            marks = ", ".join("?" for _ in part)
            for node, children in self.raw.rows(
                f"SELECT node, children FROM state_nodes WHERE node IN ({marks})", part
            ):
                found[int(node) - 1] = bytes(children)
        for page in wanted:
            children = found.get(page, auth.EMPTY_PAGE_CHILDREN)
            slot = page * 32
            if len(children) != len(auth.EMPTY_PAGE_CHILDREN) or auth.page_digest(
                children
            ) != bytes(self._top[slot : slot + 32]):
                raise _changed(f"page {page} of the state tree")
            self._pages[page] = bytearray(children)

    def _load_buckets(self, buckets: Sequence[int], asked: tuple[str, str] | None = None) -> None:
        wanted = sorted({b for b in buckets if b not in self._buckets})
        if not wanted:
            return
        self._load_pages([auth.page_of(b) for b in wanted])
        loaded: dict[int, dict[tuple[str, str], bytes]] = {b: {} for b in wanted}
        for i in range(0, len(wanted), _IN_CLAUSE):
            part = wanted[i : i + _IN_CLAUSE]
            if len(part) == 1:
                rows = self.raw.rows(_SELECT_BUCKET, part)
            else:
                marks = ", ".join("?" for _ in part)
                rows = self.raw.rows(
                    f"SELECT ns, key, value, bucket FROM projection WHERE bucket IN ({marks})",
                    part,
                )
            _into_buckets(rows, loaded)
        for bucket, records in loaded.items():
            self._accept(bucket, records, asked if len(wanted) == 1 else None)

    def _accept(
        self, bucket: int, records: dict[tuple[str, str], bytes], asked: tuple[str, str] | None
    ) -> None:
        """Prove a bucket's records against its page, then keep them."""
        page, slot = auth.page_of(bucket), (bucket % auth.FANOUT) * 32
        if auth.bucket_digest(records) != self._pages[page][slot : slot + 32]:
            what = (
                f"projection record {asked[0]}/{asked[1]}"
                if asked is not None
                else f"projection bucket {bucket}"
            )
            raise _changed(what)
        self._buckets[bucket] = records
        cache = self._cache
        for k, value in records.items():
            if k not in cache:
                cache[k] = value

    # -- the State protocol ----------------------------------------------------------------------

    def get(self, ns: str, key: str) -> Any:
        raw = self.get_raw(ns, key)
        return None if raw is None else loads(raw)

    def get_raw(self, ns: str, key: str) -> bytes | None:
        k = (ns, key)
        cache = self._cache
        if k in cache:
            return cache[k]
        bucket = auth.bucket_of(ns, key)
        if bucket not in self._buckets:
            # One bucket: its page (once per transaction), then one select of its few rows.
            page = auth.page_of(bucket)
            if page not in self._pages:
                self._load_pages((page,))
            loaded: dict[int, dict[tuple[str, str], bytes]] = {bucket: {}}
            _into_buckets(self.raw.rows(_SELECT_BUCKET, (bucket,)), loaded)
            self._accept(bucket, loaded[bucket], k)
        return cache.setdefault(k, None)

    def scan(self, ns: str) -> Iterator[tuple[str, Any]]:
        stored: dict[str, bytes] = {}
        found = auth.NamespaceDigest()
        for key, value in self.raw.rows("SELECT key, value FROM projection WHERE ns = ?", (ns,)):
            stored[str(key)] = bytes(value)
            found.add(auth.record_mac(self.mac_key, ns, str(key), bytes(value)))
        expected = self._namespaces.get(ns, auth.NamespaceDigest())
        if (found.total, found.count) != (expected.total, expected.count):
            raise _changed(
                f"namespace {ns} of the projection ({found.count} records stored, "
                f"{expected.count} authenticated)"
            )
        return self._merged(ns, stored)

    # -- writing -----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the changed records and the parts of the commitment they change."""
        if not self._dirty:
            return
        self._load_buckets([auth.bucket_of(*k) for k in self._dirty])
        upserts: list[tuple[str, str, bytes, int]] = []
        deletes: list[tuple[str, str]] = []
        changed_buckets: set[int] = set()
        changed_ns: set[str] = set()
        for k in sorted(self._dirty):
            bucket = auth.bucket_of(*k)
            stored = self._buckets[bucket]
            old, new = stored.get(k), self._cache[k]
            if old == new:
                continue
            digest = self._namespaces.setdefault(k[0], auth.NamespaceDigest())
            if old is not None:
                digest.remove(auth.record_mac(self.mac_key, k[0], k[1], old))
            if new is None:
                del stored[k]
                deletes.append(k)
            else:
                digest.add(auth.record_mac(self.mac_key, k[0], k[1], new))
                stored[k] = new
                upserts.append((k[0], k[1], new, bucket))
            changed_buckets.add(bucket)
            changed_ns.add(k[0])
        self._dirty.clear()
        if not changed_buckets:
            return
        changed_pages: set[int] = set()
        for bucket in changed_buckets:
            page, slot = auth.page_of(bucket), (bucket % auth.FANOUT) * 32
            self._pages[page][slot : slot + 32] = auth.bucket_digest(self._buckets[bucket])
            changed_pages.add(page)
        node_rows: list[tuple[int, bytes]] = []
        empty_nodes: list[tuple[int]] = []
        for page in sorted(changed_pages):
            children = bytes(self._pages[page])
            self._top[page * 32 : page * 32 + 32] = auth.page_digest(children)
            if children == auth.EMPTY_PAGE_CHILDREN:
                empty_nodes.append((auth.node_of(page),))
            else:
                node_rows.append((auth.node_of(page), children))
        node_rows.append((auth.TOP, bytes(self._top)))
        if deletes:
            self.raw.many("DELETE FROM projection WHERE ns = ? AND key = ?", deletes)
        if upserts:
            self.raw.many(_UPSERT, upserts)
        if empty_nodes:
            self.raw.many("DELETE FROM state_nodes WHERE node = ?", empty_nodes)
        self.raw.many(UPSERT_NODE, node_rows)
        gone = [(ns,) for ns in changed_ns if self._namespaces[ns].count == 0]
        kept = [
            (ns, self._namespaces[ns].as_bytes(), self._namespaces[ns].count)
            for ns in sorted(changed_ns)
            if self._namespaces[ns].count
        ]
        for (ns,) in gone:
            del self._namespaces[ns]
        if gone:
            self.raw.many("DELETE FROM state_namespaces WHERE ns = ?", gone)
        if kept:
            self.raw.many(UPSERT_NS, kept)
        self.root = auth.state_root(bytes(self._top), self._namespaces)


_SELECT_BUCKET = "SELECT ns, key, value, bucket FROM projection WHERE bucket = ?"
_UPSERT = (
    "INSERT INTO projection (ns, key, value, bucket) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, bucket = excluded.bucket"
)
UPSERT_NODE = (
    "INSERT INTO state_nodes (node, children) VALUES (?, ?) "
    "ON CONFLICT (node) DO UPDATE SET children = excluded.children"
)
UPSERT_NS = (
    "INSERT INTO state_namespaces (ns, digest, count) VALUES (?, ?, ?) "
    "ON CONFLICT (ns) DO UPDATE SET digest = excluded.digest, count = excluded.count"
)
