"""Verification of a live database: the auditor's replay, plus the store's own indexes and projections."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable

from ledger import merkle
from ledger.note import Verifier
from ledger.state import MemoryState
from ledger.storage import authentication as auth
from ledger.storage.store import SCHEMA_VERSION, ReadTx
from ledger.verify.audit import Auditor, Report

INDEX_COLUMNS = ("kind", "key_id", "effective", "recorded_at", "request_id")
# Stored Merkle nodes are compared block by block: a block of 2^12 leaves holds every node
# up to level 12; the few nodes above are compared at the end.
_BLOCK_LEVEL = 12
_BLOCK = 1 << _BLOCK_LEVEL
_MAX_NODE_FINDINGS = 10


class _TreeCheck:
    """Recomputes every complete subtree from the leaves' bytes and compares each with the
    node the store keeps (level, idx), which proofs and the writer's next checkpoint use."""

    def __init__(self, tx: ReadTx, auditor: Auditor) -> None:
        self.tx = tx
        self.auditor = auditor
        self.start = 0
        self.leaves: list[bytes] = []
        self.block_roots: list[bytes] = []
        self.bad = 0

    def push(self, digest: bytes) -> None:
        self.leaves.append(digest)
        if len(self.leaves) == _BLOCK:
            self._block()

    def _compare(self, level: int, idx: int, stored: bytes | None, computed: bytes) -> None:
        if stored == computed:
            return
        self.bad += 1
        if self.bad <= _MAX_NODE_FINDINGS:
            # Named by the last entry it covers: a changed leaf is blamed on itself, not on
            # the first entry of every subtree above it.
            self.auditor.add(
                ((idx + 1) << level) - 1,
                "merkle",
                f"stored Merkle node ({level}, {idx}) differs from the recomputed tree",
            )

    def _block(self) -> None:
        hashes = self.leaves
        for level in range(_BLOCK_LEVEL + 1):
            base = self.start >> level
            stored = self.tx.nodes_at(level, base, base + len(hashes))
            for i, h in enumerate(hashes):
                self._compare(level, base + i, stored.get(base + i), h)
            if level == _BLOCK_LEVEL or len(hashes) < 2:
                break
            hashes = [
                merkle.node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)
            ]
        if len(self.leaves) == _BLOCK:
            self.block_roots.append(hashes[0])
        self.start += len(self.leaves)
        self.leaves = []

    def finish(self) -> None:
        if self.leaves:
            self._block()
        stored = self.tx.nodes_above(_BLOCK_LEVEL)
        level, hashes = _BLOCK_LEVEL, self.block_roots
        while len(hashes) >= 2:
            hashes = [
                merkle.node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)
            ]
            level += 1
            for i, h in enumerate(hashes):
                self._compare(level, i, stored.get((level, i)), h)
        size = self.start
        expected = sum(size >> level for level in range(size.bit_length()))
        count = self.tx.count_nodes()
        if self.bad > _MAX_NODE_FINDINGS:
            self.auditor.add(
                None, "merkle", f"{self.bad} stored Merkle nodes differ from the recomputed tree"
            )
        elif count != expected:
            self.auditor.add(
                None,
                "merkle",
                f"merkle_nodes holds {count} rows, the tree of {size} entries has {expected}",
            )


def verify_log(
    tx: ReadTx, trusted: Verifier | None = None, progress: Callable[[int], None] | None = None
) -> tuple[Report, Auditor]:
    """Replay every entry from the stored bytes (signatures, chain, rules, checkpoints), and
    check what the store keeps beside them: index columns, leaf hashes, head, every Merkle
    node, and that a signed checkpoint covers every entry."""
    size, head_hash = tx.head()
    auditor = Auditor(trusted)
    auditor.report.scope = "database"
    auditor.expect_checkpoints((s, text) for s, _root, text in tx.checkpoints())
    tree = _TreeCheck(tx, auditor)
    signed = _SignedSizes(tx, auditor)
    last = b"\x00" * 32
    count = 0
    stop = size if size > 0 else 0
    row = tx.raw.first("SELECT MAX(seq) FROM entries")
    if row is not None and row[0] is not None:
        stop = max(stop, int(row[0]) + 1)
    for seq, columns, stored_leaf, data in tx.entry_index(0, stop):
        if seq != auditor.next_seq:
            auditor.add(
                auditor.next_seq, "sequence", f"entry {auditor.next_seq} is missing from the store"
            )
            auditor.next_seq = seq
        auditor.feed(data)
        last = merkle.leaf_hash(data)
        _check_index(auditor, seq, columns, stored_leaf, last)
        signed.push(seq, auditor.last_index)
        tree.push(last)
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(1000)
    report = auditor.finish()
    tree.finish()
    if size != count:
        auditor.add(
            min(size, count), "head", f"the head row says {size} entries, the table holds {count}"
        )
    elif count and last != head_hash:
        auditor.add(count - 1, "head", "the head row does not point at the last entry")
    latest = tx.checkpoint()
    covered = 0 if latest is None else latest[0]
    if count > covered:
        auditor.add(
            covered,
            "checkpoint",
            f"entries {covered}..{count - 1} are not covered by any signed checkpoint",
        )
    return report, auditor


class _SignedSizes:
    """Every transaction ends in a signed checkpoint, and the entries of one transaction share
    their signed `recorded_at`: so wherever that time changes between two entries, the
    checkpoints table must hold a checkpoint of that size (after the last entry, the head
    check above reports entries not covered). A deleted
    middle checkpoint row (one that receipts may cite) is reported, naming its size."""

    def __init__(self, tx: ReadTx, auditor: Auditor) -> None:
        rows = tx.raw.rows("SELECT size FROM checkpoints ORDER BY size")
        self.sizes = array("q", (int(r[0]) for r in rows))
        self.at = 0
        self.auditor = auditor
        self.previous: object = None

    def _expect(self, size: int) -> None:
        while self.at < len(self.sizes) and self.sizes[self.at] < size:
            self.at += 1
        if self.at >= len(self.sizes) or self.sizes[self.at] != size:
            self.auditor.add(
                size - 1,
                "checkpoint",
                f"no checkpoint row of size {size}, though entry {size} was recorded in a later "
                "transaction",
            )

    def push(self, seq: int, signed: tuple[object, ...] | None) -> None:
        recorded = None if signed is None else signed[INDEX_COLUMNS.index("recorded_at")]
        if recorded is not None and self.previous not in (None, recorded):
            self._expect(seq)
        self.previous = recorded


def _check_index(
    auditor: Auditor, seq: int, columns: tuple[object, ...], stored_leaf: bytes, leaf: bytes
) -> None:
    signed = auditor.last_index
    if signed is not None:
        for name, stored, value in zip(INDEX_COLUMNS, columns, signed, strict=True):
            if stored != value:
                auditor.add(
                    seq, "index", f"the {name} column says {stored!r}, the signed entry {value!r}"
                )
    if stored_leaf != leaf:
        auditor.add(seq, "index", "the leaf_hash column differs from the hash of the entry")


def verify_store(
    tx: ReadTx,
    trusted: Verifier | None = None,
    progress: Callable[[int], None] | None = None,
    mac_key: bytes | None = None,
) -> Report:
    """verify_log, then check that what the store derived from the log (projections, personal
    data against its commitments) says the same; with the MAC key derived from the log key,
    also every projection record's MAC, the head's MAC and its state digest."""
    report, auditor = verify_log(tx, trusted, progress)
    if isinstance(auditor.state, MemoryState) and report.ok:
        replayed = auditor.state.snapshot()
        stored = tx.state.snapshot()
        if replayed != stored:
            differing = sorted(
                k for k in set(replayed) | set(stored) if replayed.get(k) != stored.get(k)
            )
            ns, key = differing[0]
            auditor.add(
                None,
                "projection",
                f"{len(differing)} projected records differ from a replay of the log, first {ns}/{key}",
            )
    _check_member_data(tx, auditor)
    _check_requests(tx, auditor)
    if mac_key is not None:
        _check_authentication(tx, auditor, mac_key)
    return report


def _check_member_data(tx: ReadTx, auditor: Auditor) -> None:
    """Each member's stored personal data matches the commitment its signed admission made,
    and is gone once the log says it was erased."""
    for member_id, salt, data, _erased in tx.member_data_rows():
        record = auditor.state.get("member", member_id)
        if record is None:
            auditor.add(None, "member_data", f"member {member_id}: the log admitted no such member")
            continue
        forgotten = record.get("forgotten_seq")
        if forgotten is not None:
            if salt is not None or data is not None:
                auditor.add(
                    forgotten,
                    "member_data",
                    f"member {member_id}: personal data is still stored though it was erased "
                    f"at entry {forgotten}",
                )
            continue
        admitted = int(record["admitted_seq"])
        if salt is None or data is None:
            auditor.add(
                admitted,
                "member_data",
                f"member {member_id}: personal data is missing, and the log never erased it",
            )
        elif hashlib.sha256(salt + data.encode("utf-8")).hexdigest() != record["commitment"]:
            auditor.add(
                admitted,
                "member_data",
                f"member {member_id}: personal data does not match the commitment in entry {admitted}",
            )
    stored = {row[0] for row in tx.member_data_rows()}
    for member_id, record in auditor.state.scan("member"):
        if member_id not in stored and record.get("forgotten_seq") is None:
            admitted = int(record["admitted_seq"])
            auditor.add(
                admitted,
                "member_data",
                f"member {member_id}: personal data is missing, and the log never erased it",
            )


def _check_requests(tx: ReadTx, auditor: Auditor) -> None:
    """Each requests row names entries first..last that all carry its request id, and no
    other entry carries it, below a checkpoint row of its size; and every request id an entry
    carries has its row (what a retry relies on: decision 0015). The entries' request_id
    column stands for their signed bytes here: the replay compared the two already. One
    query for each, every lookup by key; the log key is not needed."""
    rows = tx.raw.rows(
        "SELECT r.request_id, r.first_seq, r.last_seq, r.checkpoint_size, "
        "(SELECT COUNT(*) FROM checkpoints c WHERE c.size = r.checkpoint_size), "
        "(SELECT COUNT(*) FROM entries e WHERE e.request_id = r.request_id "
        " AND e.seq >= r.first_seq AND e.seq <= r.last_seq), "
        "(SELECT COUNT(*) FROM entries e WHERE e.request_id = r.request_id) "
        "FROM requests r ORDER BY r.first_seq, r.request_id"
    )
    for rid, first, last, size, checkpoint, inside, carried in rows:
        first, last, size = int(first), int(last), int(size)
        if not 0 <= first <= last < size:
            problem = f"entries {first}..{last} do not lie below its checkpoint {size}"
        elif int(checkpoint) != 1:
            problem = f"its checkpoint {size} is missing"
        elif int(inside) != last - first + 1:
            problem = f"not every entry {first}..{last} carries the request id"
        elif int(carried) != int(inside):
            problem = f"entries outside {first}..{last} carry the request id too"
        else:
            continue
        auditor.add(
            first if first >= 0 else None,
            "requests",
            f"the requests row for request id {rid!r} does not match the signed entries: {problem}",
        )
    orphans = tx.raw.rows(
        "SELECT e.request_id, MIN(e.seq) FROM entries e WHERE e.request_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.request_id = e.request_id) "
        "GROUP BY e.request_id ORDER BY MIN(e.seq)"
    )
    for rid, seq in orphans:
        auditor.add(
            int(seq),
            "requests",
            f"request id {rid!r} is carried by entry {seq} but has no requests row",
        )


def _check_authentication(tx: ReadTx, auditor: Auditor, mac_key: bytes) -> None:
    """The state commitment recomputed from the projection table is the one stored (tree
    nodes, namespace digests, each record's bucket) and the one the head's MAC covers."""
    if tx.schema_version != SCHEMA_VERSION:
        auditor.add(
            None,
            "authentication",
            f"schema version {tx.schema_version} keeps no state commitment: run coopledger "
            "rebuild --log-key FILE to add it",
        )
        return
    misplaced: list[str] = []
    rows: list[tuple[str, str, bytes]] = []
    for ns, key, value, bucket in tx.projection_rows():
        if bucket != auth.bucket_of(ns, key):
            misplaced.append(f"{ns}/{key}")
        rows.append((ns, key, value))
    if misplaced:
        auditor.add(
            None,
            "authentication",
            f"{len(misplaced)} projection records are stored in the wrong bucket, first {misplaced[0]}",
        )
    made = auth.commitment(mac_key, rows)
    _compare_commitment(tx, auditor, made, rows)
    size, last, root, mac = tx.authentication()
    if size == 0 and mac is None and root is None:
        return
    if root is None or not auth.same(mac, auth.head_mac(mac_key, size, last, root)):
        auditor.add(None, "authentication", "the head row fails its authentication")
    elif root != made.root:
        auditor.add(
            None,
            "authentication",
            "the head's state root does not match the projection records: a record was "
            "added, removed, changed or put back to an earlier version outside coop-ledger",
        )


def _compare_commitment(
    tx: ReadTx, auditor: Auditor, made: auth.Commitment, rows: list[tuple[str, str, bytes]]
) -> None:
    """The stored tree nodes and namespace digests against those recomputed from the rows."""
    nodes, namespaces = tx.state_commitment()
    differing: list[int] = []
    for page in range(auth.FANOUT):
        stored = nodes.get(auth.node_of(page), auth.EMPTY_PAGE_CHILDREN)
        mine = made.pages.get(page, auth.EMPTY_PAGE_CHILDREN)
        if stored != mine:
            differing += [
                page * auth.FANOUT + i
                for i in range(auth.FANOUT)
                if stored[i * 32 : i * 32 + 32] != mine[i * 32 : i * 32 + 32]
            ] or [page * auth.FANOUT]
    if differing:
        held = sorted(
            f"{ns}/{key}" for ns, key, _ in rows if auth.bucket_of(ns, key) == differing[0]
        )
        auditor.add(
            None,
            "authentication",
            f"{len(differing)} buckets of the state tree differ from the projection records, "
            f"first bucket {differing[0]} ({', '.join(held[:3]) or 'now empty'}): a record was "
            "added, removed, changed or put back to an earlier version outside coop-ledger",
        )
    unknown = sorted(n for n in nodes if not 0 <= n <= auth.FANOUT)
    if nodes.get(auth.TOP, auth.EMPTY_TOP_CHILDREN) != made.top or unknown:
        auditor.add(None, "authentication", "the state tree's top differs from its pages")
    wanted = {ns: (d.as_bytes(), d.count) for ns, d in made.namespaces.items()}
    if namespaces != wanted:
        names = sorted(
            n for n in set(namespaces) | set(wanted) if namespaces.get(n) != wanted.get(n)
        )
        auditor.add(
            None,
            "authentication",
            f"the digest of namespace {names[0]} differs from its projection records",
        )
