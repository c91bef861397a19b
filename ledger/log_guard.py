"""What the log key checks before it signs, and what a request id must be bound to (decision 0015)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ledger import merkle, note
from ledger.command import Command
from ledger.derived_keys import REQUEST_HASH, derive, mac
from ledger.encoding import canonical
from ledger.errors import ConflictError, LedgerError, VerificationError
from ledger.keys import Signer
from ledger.log_memory import LogMemory
from ledger.model import SignedEntry
from ledger.storage.store import ReadTx, WriteTx

KEYED = "hmac-sha256:"
ERASED = "erased:"


def _root(root: bytes) -> str:
    return note.b64encode(root)


def _refuse(what: str) -> VerificationError:
    return VerificationError(f"refusing to sign: {what}; run coopledger verify")


def _verifier(log_signer: Signer) -> note.Verifier:
    return note.Verifier.from_public_key(log_signer.name, log_signer.public_key)


def signed_row(
    row: tuple[int, bytes, str],
    log_signer: Signer,
    refuse: Callable[[str], LedgerError] = _refuse,
) -> note.Checkpoint:
    """A checkpoint row whose note this log key signed and whose size and root are the note's."""
    size, root, text = row
    try:
        checkpoint = note.open_checkpoint(text, _verifier(log_signer))
    except LedgerError as e:
        raise refuse(f"the database's checkpoint {size} is not signed by this log key ({e})") from e
    if checkpoint.tree_size != size or checkpoint.root_hash != root:
        raise refuse(f"the database's checkpoint row {size} differs from its signed note")
    return checkpoint


def signed_tip(tx: ReadTx, log_signer: Signer, memory: LogMemory | None) -> note.Checkpoint | None:
    """Check, before anything is decided, that the database extends what the log key signed
    last and that its head is exactly the last checkpoint; return the remembered checkpoint.
    A log key with no memory signs nothing over a database that holds checkpoints: which of
    them it signed last only the operator can say (`coopledger log adopt`)."""
    size, last_leaf = tx.head()
    latest = tx.checkpoint()
    remembered = memory.load(log_signer) if memory is not None else None
    if remembered is not None:
        _extends_memory(tx, latest, remembered, log_signer)
    elif memory is not None and latest is not None:
        raise no_memory(memory, latest)
    _head_is_signed(tx, size, last_leaf, latest)
    return None if remembered is None else remembered[0]


def no_memory(memory: LogMemory, latest: tuple[int, bytes, str]) -> VerificationError:
    """The refusal of a log key without memory: trusting the database's latest checkpoint
    would let a restored older copy of the database make the key sign a fork."""
    return VerificationError(
        f"refusing to sign: the log key has no memory of the checkpoints it signed (expected "
        f"at {memory.path}); if checkpoint {latest[0]} (root {_root(latest[1])}) of this "
        f"database is the last one this key signed, run coopledger log adopt --log-key FILE "
        f"--size {latest[0]}"
    )


def _extends_memory(
    tx: ReadTx,
    latest: tuple[int, bytes, str] | None,
    remembered: tuple[note.Checkpoint, str],
    log_signer: Signer,
) -> None:
    checkpoint, text = remembered
    mine = f"checkpoint {checkpoint.tree_size} this log key signed (root {_root(checkpoint.root_hash)})"
    if latest is None or latest[0] < checkpoint.tree_size:
        found = "none" if latest is None else str(latest[0])
        raise _refuse(f"the database's latest checkpoint is {found}, behind {mine}")
    if latest[0] == checkpoint.tree_size:
        if latest[2] != text:
            raise _refuse(f"the database's checkpoint {latest[0]} differs from {mine}")
        return
    # Another holder of the log key signed since (or this memory was restored): the database's
    # checkpoint must be signed and extend the remembered one.
    signed_row(latest, log_signer)
    consistent(tx, checkpoint.tree_size, checkpoint.root_hash, latest[0], latest[1],
               f"the database's checkpoint {latest[0]} does not extend {mine}")  # fmt: skip


def _head_is_signed(
    tx: ReadTx, size: int, last_leaf: bytes, latest: tuple[int, bytes, str] | None
) -> None:
    covered = 0 if latest is None else latest[0]
    if size != covered:
        raise _refuse(f"the head holds {size} entries but the last checkpoint covers {covered}")
    if size == 0:
        return
    stored = list(tx.entries(size - 1, size + 1))
    if not stored or stored[0][0] != size - 1:
        raise _refuse(f"entry {size - 1}, the last one the head counts, is missing")
    if merkle.leaf_hash(stored[0][1]) != last_leaf:
        raise _refuse(f"the head's last leaf hash is not that of entry {size - 1}'s stored bytes")
    if stored[-1][0] == size:
        raise _refuse(f"entry {size} is stored beyond the head ({size} entries)")


def consistent(
    tx: ReadTx, old_size: int, old_root: bytes, new_size: int, new_root: bytes, problem: str
) -> None:
    """Prove from the stored Merkle nodes that the tree of new_size extends that of old_size."""
    try:
        proof = merkle.consistency_proof(old_size, new_size, tx.get_nodes)
        merkle.verify_consistency(old_size, new_size, proof, old_root, new_root)
    except LedgerError as e:
        raise _refuse(problem) from e


def check_fork(
    nodes: merkle.NodeReader, new_size: int, new_root: bytes, anchors: Sequence[tuple[int, bytes]]
) -> None:
    """The new tree must extend every checkpoint it is anchored to (the database's last one and
    the log key's memory), proved with the Merkle nodes as they will be stored."""
    for old_size, old_root in dict(anchors).items():
        try:
            proof = merkle.consistency_proof(old_size, new_size, nodes)
            merkle.verify_consistency(old_size, new_size, proof, old_root, new_root)
        except LedgerError as e:
            raise _refuse(
                f"checkpoint {new_size} would fork from checkpoint {old_size} this log key "
                f"signed (root {_root(old_root)})"
            ) from e


# -- requests ------------------------------------------------------------------------------------


def request_hash(commands: Sequence[Command], signer_key_id: str, key: bytes) -> str:
    """HMAC-SHA256 of the canonical command content under a key derived from the log key: no one
    without the log key can test guesses of a member's name against a stored hash."""
    content = {
        "commands": [{"name": c.name, "args": dict(c.args)} for c in commands],
        "key_id": signer_key_id,
    }
    return KEYED + base64.b64encode(mac(key, canonical(content))).decode("ascii")


def request_key(log_signer: Signer) -> bytes:
    return derive(log_signer, REQUEST_HASH)


def unused_request(tx: ReadTx, request_id: str) -> None:
    """A request id with no requests row must not be carried by any entry already."""
    seq = tx.request_carrier(request_id)
    if seq is not None:
        raise ConflictError(
            f"request id {request_id} is carried by entry {seq} but has no requests row: "
            "run coopledger verify"
        )


def bound_request(tx: ReadTx, previous: Mapping[str, Any], log_signer: Signer) -> None:
    """The requests row names entries whose signed bytes carry its request id, covered by a
    checkpoint this log key signed; anything else is refused, naming the row."""
    rid, first, last = previous["request_id"], previous["first_seq"], previous["last_seq"]
    size = previous["checkpoint_size"]
    problem = ConflictError(
        f"the requests table row for request id {rid} does not match the signed entries "
        f"{first}..{last}: run coopledger verify"
    )
    if not 0 <= first <= last < size:
        raise problem
    stored = list(tx.entries(first, last + 1))
    row = tx.checkpoint(size)
    if len(stored) != last - first + 1 or row is None:
        raise problem
    try:
        checkpoint = note.open_checkpoint(row[2], _verifier(log_signer))
        if checkpoint.tree_size != size or checkpoint.root_hash != row[1]:
            raise problem
        for seq, data in stored:
            entry = SignedEntry.model_validate_json(data).entry
            if entry.seq != seq or entry.request_id != rid:
                raise problem
            proof = merkle.inclusion_proof(seq, size, tx.get_nodes)
            merkle.verify_inclusion(merkle.leaf_hash(data), seq, size, proof, checkpoint.root_hash)
    except (LedgerError, ValidationError) as e:
        if e is problem:
            raise
        raise problem from e


def replayable(previous: Mapping[str, Any], content_hash: str) -> None:
    """The stored content hash must be this request's keyed hash."""
    rid, stored = previous["request_id"], str(previous["content_hash"])
    if stored.startswith(ERASED):
        raise ConflictError(
            f"request id {rid} concerned personal data erased at entry {stored[len(ERASED) :]}: "
            "it cannot be replayed"
        )
    if not stored.startswith(KEYED):
        raise ConflictError(
            f"request id {rid} was recorded before request hashes were keyed: it cannot be "
            f"replayed (its entries are {previous['first_seq']}..{previous['last_seq']})"
        )
    if stored != content_hash:
        raise ConflictError(
            f"request id {rid} was already used for a different request "
            f"(entries {previous['first_seq']}..{previous['last_seq']})"
        )


def forget_requests(tx: WriteTx, admitted_seq: int, erased_seq: int) -> None:
    """Replace the content hash of every request whose entries carried the erased member's
    personal data by a marker naming the erasure."""
    tx.mark_requests(admitted_seq, f"{ERASED}{erased_seq}")
