"""Verification of a live database: the auditor's replay, plus the store's own indexes and projections."""

from __future__ import annotations

from collections.abc import Callable

from ledger import merkle
from ledger.audit import Auditor, Report
from ledger.note import Verifier
from ledger.state import MemoryState
from ledger.storage.store import ReadTx


def verify_store(
    tx: ReadTx, trusted: Verifier | None = None, progress: Callable[[int], None] | None = None
) -> Report:
    """Replay every entry from the stored bytes, then check that what the store derived from
    them (leaf hashes, head, Merkle nodes, projections) says the same."""
    size, head_hash = tx.head()
    auditor = Auditor(trusted)
    auditor.expect_checkpoints((s, text) for s, _root, text in tx.checkpoints())
    last = b"\x00" * 32
    count = 0
    for seq, data in tx.entries(0, None):
        if seq != auditor.next_seq:
            auditor.add(
                auditor.next_seq, "sequence", f"entry {auditor.next_seq} is missing from the store"
            )
            auditor.next_seq = seq
        auditor.feed(data)
        last = merkle.leaf_hash(data)
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(1000)
    report = auditor.finish()
    if size != count:
        auditor.add(
            min(size, count), "head", f"the head row says {size} entries, the table holds {count}"
        )
    elif count and last != head_hash:
        auditor.add(count - 1, "head", "the head row does not point at the last entry")
    latest = tx.checkpoint()
    if latest is not None and latest[0] <= report.tree_size and report.ok:
        stored_root = merkle.root_hash(latest[0], tx.get_nodes)
        if stored_root != latest[1]:
            auditor.add(
                latest[0] - 1, "merkle", "stored Merkle nodes do not give the checkpoint's root"
            )
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
    return report
