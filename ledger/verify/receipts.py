"""Checkpoints and receipts checked offline against the pinned log key, naming what failed."""

from __future__ import annotations

import base64
import binascii

from ledger import merkle, note
from ledger.errors import InputError, NoteError, ProofError


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
