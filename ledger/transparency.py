"""Proofs from the store: signed checkpoints, inclusion receipts and consistency proofs at any size."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ledger import merkle, note
from ledger.errors import NotFound, UsageError
from ledger.storage.store import ReadTx


@dataclass(frozen=True)
class ConsistencyProof:
    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: tuple[bytes, ...]

    def as_json(self) -> dict[str, object]:
        b64 = base64.b64encode
        return {
            "size1": self.size1,
            "size2": self.size2,
            "root1": b64(self.root1).decode(),
            "root2": b64(self.root2).decode(),
            "proof": [b64(h).decode() for h in self.proof],
        }


def signed_checkpoint(tx: ReadTx, size: int | None = None) -> tuple[int, bytes, str]:
    """The signed checkpoint at `size` (default: the latest)."""
    found = tx.checkpoint(size)
    if found is None:
        if size is None:
            raise NotFound("this ledger has no checkpoint yet")
        sizes = [s for s, _, _ in tx.checkpoints()]
        nearest = min(sizes, key=lambda s: abs(s - size)) if sizes else None
        hint = f"; the nearest signed size is {nearest}" if nearest is not None else ""
        raise NotFound(f"no checkpoint was signed at tree size {size}{hint}")
    return found


def inclusion_receipt(tx: ReadTx, seq: int, size: int | None = None) -> str:
    """A C2SP tlog-proof@v1 receipt: entry `seq` is in the tree the checkpoint at `size` signs."""
    cp_size, _root, cp_note = signed_checkpoint(tx, size)
    if not 0 <= seq < cp_size:
        raise UsageError(f"entry {seq} is not in the tree of size {cp_size}")
    proof = merkle.inclusion_proof(seq, cp_size, tx.get_nodes)
    return note.format_tlog_proof(seq, proof, cp_note)


def consistency(tx: ReadTx, size1: int, size2: int) -> ConsistencyProof:
    head = tx.head()[0]
    if not 0 <= size1 <= size2 <= head:
        raise UsageError(f"need 0 <= OLD <= NEW <= {head}, got OLD={size1} NEW={size2}")
    proof = merkle.consistency_proof(size1, size2, tx.get_nodes)
    root1 = merkle.root_hash(size1, tx.get_nodes)
    root2 = merkle.root_hash(size2, tx.get_nodes)
    return ConsistencyProof(size1, size2, root1, root2, tuple(proof))
