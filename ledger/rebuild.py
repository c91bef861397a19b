"""`coopledger rebuild`: recompute every projection record from the verified log, and the state commitment over them."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import log_guard
from ledger.checks import verify_log
from ledger.derived_keys import PROJECTION_MAC, derive
from ledger.errors import IntegrityError
from ledger.keys import Signer
from ledger.log_memory import LogMemory
from ledger.note import Verifier
from ledger.state import MemoryState
from ledger.storage.store import SCHEMA_VERSION, Store


@dataclass(frozen=True)
class Rebuilt:
    entries: int
    records: int
    added: int
    changed: int
    removed: int
    upgraded_from: str | None
    schema_version: str = SCHEMA_VERSION


def rebuild(store: Store, log_signer: Signer, memory: LogMemory | None = None) -> Rebuilt:
    """Replay every entry through the auditor, trusting only the given log key; if the log
    verifies, replace the projection with the replayed records and authenticate them, all in
    one write transaction. A log that does not verify is refused and nothing is changed, and
    so is one that does not extend the checkpoint the log key remembers signing (a history
    rewritten and re-checkpointed by an insider must not be blessed with fresh MACs)."""
    trusted = Verifier.from_public_key(log_signer.name, log_signer.public_key)
    with store.writing(derive(log_signer, PROJECTION_MAC), upgrade=True) as tx:
        before = tx.schema_version
        log_guard.signed_tip(tx, log_signer, memory if memory and memory.exists() else None)
        report, auditor = verify_log(tx, trusted)
        trust = [f for f in report.findings if f.code == "trust"]
        if trust:
            raise IntegrityError(
                f"log key {log_signer.name} ({log_signer.key_id[:16]}) is not this ledger's log key"
            )
        if not report.ok:
            raise IntegrityError(
                f"the log does not verify, nothing was changed: {report.findings[0].line()}"
            )
        assert isinstance(auditor.state, MemoryState)
        records = auditor.state.snapshot()
        if before != SCHEMA_VERSION:
            tx.upgrade_schema()
        added, changed, removed = tx.replace_projection(records)
    return Rebuilt(
        report.entries,
        len(records),
        added,
        changed,
        removed,
        before if before != SCHEMA_VERSION else None,
    )
