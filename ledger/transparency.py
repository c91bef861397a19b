"""Proofs from the store: signed checkpoints, receipts, consistency proofs at any past size
(their offline checks are in ledger/verify/receipts.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ledger import merkle, note
from ledger.errors import NotFoundError, UsageError
from ledger.state import META
from ledger.storage.store import ReadTx


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 PROOF(size1, D[0:size2]) with the two roots it connects."""

    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: tuple[bytes, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "size1": self.size1,
            "size2": self.size2,
            "root1": note.b64encode(self.root1),
            "root2": note.b64encode(self.root2),
            "proof": [note.b64encode(h) for h in self.proof],
        }

    def text(self) -> str:
        """The proof hashes in standard base64, one a line (nothing for an empty proof)."""
        return "".join(note.b64encode(h) + "\n" for h in self.proof)


# --- reading from the store ---------------------------------------------------------------------


def log_verifier(tx: ReadTx) -> note.Verifier:
    """The log's note verifier as the genesis entry set it up: what auditors pin."""
    meta = tx.state.get(META, "ledger")
    if meta is None:
        raise NotFoundError("this ledger has no genesis entry: run coopledger init")
    return note.Verifier.from_public_key(meta["origin"], base64.b64decode(meta["log_key"]))


def signed_checkpoint(tx: ReadTx, size: int | None = None) -> tuple[int, bytes, str]:
    """(tree size, root hash, signed note) of the checkpoint at `size` (default: the latest).

    One checkpoint is signed per transaction, so the sizes inside a batch have none; the
    error names the nearest size that has one (found by two index lookups, not a scan).
    """
    found = tx.checkpoint(size)
    if found is not None:
        return found
    if size is None:
        raise NotFoundError("this ledger has no checkpoint yet")
    below, above = tx.signed_sizes_around(size)
    if below is None and above is None:
        raise NotFoundError(
            f"no checkpoint was signed at tree size {size}: the ledger has none yet"
        )
    if below is None or above is None:
        nearest = below if above is None else above
        raise NotFoundError(
            f"no checkpoint was signed at tree size {size}; the nearest signed size is {nearest}"
        )
    nearest, other = (below, above) if size - below <= above - size else (above, below)
    raise NotFoundError(
        f"no checkpoint was signed at tree size {size}; the nearest signed size is {nearest} "
        f"(the other neighbour is {other})"
    )


def inclusion_receipt(tx: ReadTx, seq: int, size: int | None = None) -> str:
    """A C2SP tlog-proof@v1 receipt: entry `seq` is in the tree the checkpoint at `size` signs."""
    cp_size, _root, cp_note = signed_checkpoint(tx, size)
    if not 0 <= seq < cp_size:
        raise UsageError(f"entry {seq} is not in the tree of size {cp_size}")
    proof = merkle.inclusion_proof(seq, cp_size, tx.get_nodes)
    return note.format_tlog_proof(seq, proof, cp_note)


def consistency(tx: ReadTx, size1: int, size2: int) -> ConsistencyProof:
    """The consistency proof from size1 to size2 (any sizes up to the head), read in O(log n)
    node lookups and checked against the two roots before it is handed out."""
    head = tx.head()[0]
    if not 0 <= size1 <= size2 <= head:
        raise UsageError(f"need 0 <= OLD <= NEW <= {head}, got OLD={size1} NEW={size2}")
    proof = merkle.consistency_proof(size1, size2, tx.get_nodes)
    root1 = merkle.root_hash(size1, tx.get_nodes)
    root2 = merkle.root_hash(size2, tx.get_nodes)
    merkle.verify_consistency(size1, size2, proof, root1, root2)
    return ConsistencyProof(size1, size2, root1, root2, tuple(proof))
