"""Proofs from the store (signed checkpoints, receipts, consistency proofs at any past size)
and the offline checks of them that name what failed."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ledger import merkle, note
from ledger.errors import InputError, NoteError, NotFound, ProofError, UsageError
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
    meta = tx.state.get("meta", "ledger")
    if meta is None:
        raise NotFound("this ledger has no genesis entry: run coopledger init")
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
        raise NotFound("this ledger has no checkpoint yet")
    below, above = tx.signed_sizes_around(size)
    if below is None and above is None:
        raise NotFound(f"no checkpoint was signed at tree size {size}: the ledger has none yet")
    if below is None or above is None:
        nearest = below if above is None else above
        raise NotFound(
            f"no checkpoint was signed at tree size {size}; the nearest signed size is {nearest}"
        )
    nearest, other = (below, above) if size - below <= above - size else (above, below)
    raise NotFound(
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


# --- offline checks -----------------------------------------------------------------------------


def _signers_named(note_text: str) -> list[str]:
    """`name+keyid` of each signature line, best effort, for saying who signed instead."""
    split = note_text.rfind("\n\n")
    out: list[str] = []
    for line in note_text[split + 2 :].splitlines() if split >= 0 else []:
        if not line.startswith("\u2014 "):
            continue
        name, _, b64 = line[2:].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) > note.KEY_ID_SIZE:
            out.append(f"{name}+{raw[: note.KEY_ID_SIZE].hex()}")
    return out


def open_trusted_checkpoint(text: str, verifier: note.Verifier, what: str) -> note.Checkpoint:
    """Open a signed checkpoint with the pinned log key; the NoteError starts with `what` and,
    when the trusted key did not sign it at all, says which key did."""
    try:
        return note.open_checkpoint(text, verifier)
    except NoteError as e:
        trusted = f"{verifier.name}+{verifier.key_id.hex()}"
        signers = _signers_named(text)
        if trusted not in signers:
            by = f"signed by {', '.join(signers)}" if signers else "no readable signature"
            raise NoteError(
                f"{what} is not signed by the trusted log key {trusted} ({by}): "
                "a checkpoint signed by another key"
            ) from e
        raise NoteError(f"{what}: {e}") from e


def check_receipt(
    text: str,
    leaf_hash: bytes,
    verifier: note.Verifier,
    *,
    expected_index: int | None = None,
    what: str = "receipt",
) -> note.Checkpoint:
    """Verify a tlog-proof@v1 receipt offline: its checkpoint is signed by the pinned log key,
    and its inclusion proof puts leaf_hash at its index in that checkpoint's tree.

    The same checks as note.verify_tlog_proof, with errors that say which part failed:
    InputError (malformed), NoteError (checkpoint), ProofError (index or inclusion).
    """
    try:
        receipt = note.parse_tlog_proof(text)
    except InputError as e:
        raise InputError(f"{what} is malformed: {e}") from e
    if expected_index is not None and receipt.index != expected_index:
        raise ProofError(f"{what} is for entry {receipt.index}, not entry {expected_index}")
    checkpoint = open_trusted_checkpoint(receipt.checkpoint_note, verifier, f"{what}'s checkpoint")
    try:
        merkle.verify_inclusion(
            leaf_hash, receipt.index, checkpoint.tree_size, receipt.proof, checkpoint.root_hash
        )
    except ProofError as e:
        raise ProofError(f"{what}: the inclusion proof does not hold: {e}") from e
    return checkpoint
