"""Give a log key without memory the database's latest checkpoint, once the whole log verifies and the operator names its size (decision 0015)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger import log_guard, note
from ledger.checks import verify_log
from ledger.encoding import loads
from ledger.errors import ConflictError, IntegrityError, LedgerError, VerificationError
from ledger.keys import Signer
from ledger.log_memory import LogMemory
from ledger.storage.store import Store


@dataclass(frozen=True)
class Adopted:
    """The checkpoint the log key now remembers: its size, root, and the signed time of the
    transaction it closed (the `recorded_at` of its last entry)."""

    size: int
    root: bytes
    recorded_at: str | None
    memory: Path


def _refuse(what: str) -> LedgerError:
    return VerificationError(f"refusing to adopt: {what}")


def adopt(store: Store, log_signer: Signer, memory: LogMemory, size: int) -> Adopted:
    """Verify every entry, checkpoint and Merkle node with the log key; if the database's
    latest checkpoint is of `size` (what the operator knows from outside the database: the
    last checkpoint published, an auditor's saved file, a member's receipt), write its note
    as the log key's memory. A key that remembers a checkpoint already adopts nothing: its
    memory is what protects the log, and the writer reconciles it with the database."""
    remembered = memory.load(log_signer)
    if remembered is not None:
        checkpoint = remembered[0]
        raise ConflictError(
            f"the log key already remembers checkpoint {checkpoint.tree_size} (root "
            f"{note.b64encode(checkpoint.root_hash)}) in {memory.path}: there is nothing to adopt"
        )
    with store.reading() as tx:
        latest = tx.checkpoint()
        if latest is None:
            raise _refuse("the database holds no checkpoint")
        if latest[0] != size:
            raise _refuse(
                f"you named checkpoint {size}, but the database's latest checkpoint is "
                f"{latest[0]} (root {note.b64encode(latest[1])})"
            )
        checkpoint = log_guard.signed_row(latest, log_signer, _refuse)
        report, _auditor = verify_log(
            tx, note.Verifier.from_public_key(log_signer.name, log_signer.public_key)
        )
        if any(f.code == "trust" for f in report.findings):
            raise IntegrityError(
                f"log key {log_signer.name} ({log_signer.key_id[:16]}) is not this ledger's log key"
            )
        if not report.ok:
            raise _refuse(
                f"the log does not verify ({report.total_findings} findings, first "
                f"{report.findings[0].line(report.scope)}); run coopledger verify"
            )
        last = tx.entry(size - 1)
        recorded_at = None if last is None else loads(last)["entry"].get("recorded_at")
    memory.save(latest[2], log_signer)
    return Adopted(size, checkpoint.root_hash, recorded_at, memory.path)
