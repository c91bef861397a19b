"""Offline verification: replay leaf bytes and signed checkpoints; no database, no private key."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ledger import merkle, note
from ledger.errors import LedgerError
from ledger.keys import decode_public_key, key_id, verify_signature
from ledger.model import GENESIS_PREV, SignedEntry, decode_leaf, signing_message
from ledger.state import MemoryState, State, apply, public_key_of


@dataclass(frozen=True)
class Finding:
    """One thing that does not verify; seq is None for findings about the bundle as a whole."""

    seq: int | None
    code: str
    message: str

    def line(self) -> str:
        where = "bundle" if self.seq is None else f"entry {self.seq}"
        return f"{where}: {self.code}: {self.message}"


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    tree_size: int = 0
    root_hash: bytes = merkle.EMPTY_ROOT
    origin: str | None = None
    latest_checkpoint: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [f.seq for f in self.findings if f.seq is not None]
        return min(seqs) if seqs else None

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints_checked": self.checkpoints,
            "tree_size": self.tree_size,
            "root_hash": base64.b64encode(self.root_hash).decode(),
            "origin": self.origin,
            "first_bad_seq": self.first_bad_seq,
            "findings": [
                {"seq": f.seq, "code": f.code, "message": f.message} for f in self.findings
            ],
        }


def expected_signers(state: State, signed: SignedEntry) -> list[bytes | None]:
    """The public keys the signatures must come from: the author (and, for entry 0, the log key
    named in its body), looked up in the key registry as it stood before this entry."""
    entry = signed.entry
    if entry.kind == "ledger.founded":
        gov = entry.body.get("governor", {}).get("public_key")
        log = entry.body.get("log_key", {}).get("public_key")
        return [_maybe_key(gov), _maybe_key(log)]
    return [public_key_of(state, entry.key_id)]


def _maybe_key(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return decode_public_key(text)
    except LedgerError:
        return None


class Auditor:
    """Feeds leaves in order and checks each one: position, link, signatures, authorisation
    and rules (through apply, the same fold the service uses), and the Merkle root at every
    signed checkpoint. Findings are collected, never raised, so the auditor sees them all."""

    def __init__(
        self,
        trusted: note.Verifier | None,
        state: State | None = None,
        *,
        start: int = 0,
        prev_hash: bytes | None = None,
        check_signatures: bool = True,
    ) -> None:
        self.trusted = trusted
        self.state: State = state if state is not None else MemoryState()
        self.report = Report()
        self.tree = merkle.RootAccumulator()
        self.next_seq = start
        self.prev_hash = prev_hash
        self.check_signatures = check_signatures
        self._checkpoints: dict[int, str] = {}

    def add(self, seq: int | None, code: str, message: str) -> None:
        self.report.findings.append(Finding(seq, code, message))

    def expect_checkpoints(self, checkpoints: Iterable[tuple[int, str]]) -> None:
        for size, text in checkpoints:
            self._checkpoints[size] = text

    def feed(self, data: bytes) -> None:
        seq = self.next_seq
        self.next_seq += 1
        digest = merkle.leaf_hash(data)
        self.tree.push(digest)
        self.report.entries += 1
        prev = self.prev_hash
        self.prev_hash = digest
        try:
            signed = decode_leaf(data, f"entry {seq}")
        except LedgerError as e:
            self.add(seq, "malformed", str(e))
            return
        entry = signed.entry
        if entry.seq != seq:
            self.add(seq, "sequence", f"expected sequence number {seq}, found {entry.seq}")
        expected_prev = GENESIS_PREV if seq == 0 else (prev.hex() if prev is not None else None)
        if expected_prev is not None and entry.prev != expected_prev:
            self.add(
                seq,
                "link",
                f"prev is {entry.prev[:16]}…, expected the previous leaf hash {expected_prev[:16]}…",
            )
        if self.check_signatures:
            self._check_signatures(seq, signed)
        if seq == 0:
            self._check_genesis(signed)
        try:
            apply(self.state, signed)
        except LedgerError as e:
            self.add(seq, "rule", str(e))
        self._maybe_check_root()

    def _check_signatures(self, seq: int, signed: SignedEntry) -> None:
        keys = expected_signers(self.state, signed)
        if len(signed.signatures) != len(keys):
            self.add(
                seq,
                "signature",
                f"{len(signed.signatures)} signatures, expected {len(keys)} for {signed.entry.kind}",
            )
            return
        message = signing_message(signed.entry.canonical_bytes())
        for sig, key in zip(signed.signatures, keys, strict=True):
            if key is None:
                self.add(seq, "signature", f"signed by unknown key {sig.key_id[:16]}")
                continue
            if key_id(key) != sig.key_id:
                self.add(
                    seq,
                    "signature",
                    f"signature names key {sig.key_id[:16]}, expected {key_id(key)[:16]}",
                )
                continue
            try:
                verify_signature(key, sig.raw, message)
            except LedgerError:
                self.add(seq, "signature", f"signature by key {sig.key_id[:16]} does not verify")

    def _check_genesis(self, signed: SignedEntry) -> None:
        body = signed.entry.body
        origin = body.get("origin")
        self.report.origin = origin if isinstance(origin, str) else None
        if self.trusted is None:
            return
        log = _maybe_key(body.get("log_key", {}).get("public_key"))
        if log != self.trusted.public_key or origin != self.trusted.name:
            self.add(
                0, "trust", f"the genesis log key is not the trusted key {self.trusted.key_text()}"
            )

    def _log_verifier(self) -> note.Verifier | None:
        if self.trusted is not None:
            return self.trusted
        meta = self.state.get("meta", "ledger")
        if meta is None:
            return None
        return note.Verifier.from_public_key(meta["origin"], base64.b64decode(meta["log_key"]))

    def _maybe_check_root(self) -> None:
        size = self.tree.tree_size
        text = self._checkpoints.get(size)
        if text is not None:
            self.check_checkpoint(size, text, self.tree.root())

    def check_checkpoint(self, size: int, text: str, root: bytes) -> None:
        verifier = self._log_verifier()
        where = size - 1 if size > 0 else None
        if verifier is None:
            self.add(where, "checkpoint", f"checkpoint {size}: no log key to check it against")
            return
        try:
            cp = note.open_checkpoint(text, verifier)
        except LedgerError as e:
            self.add(where, "checkpoint", f"checkpoint {size}: {e}")
            return
        self.report.checkpoints += 1
        if cp.tree_size != size:
            self.add(
                where, "checkpoint", f"checkpoint filed as size {size} says size {cp.tree_size}"
            )
        elif cp.root_hash != root:
            self.add(
                self._first_divergence(size),
                "checkpoint",
                f"checkpoint {size}: root {base64.b64encode(cp.root_hash).decode()} differs from "
                f"the recomputed {base64.b64encode(root).decode()}",
            )
        self.report.latest_checkpoint = text

    def _first_divergence(self, size: int) -> int:
        # Any earlier finding names the first bad entry; without one the last leaf is blamed.
        return self.report.first_bad_seq if self.report.first_bad_seq is not None else size - 1

    def finish(self) -> Report:
        size = self.tree.tree_size
        beyond = sorted(s for s in self._checkpoints if s > size)
        if beyond:
            self.add(
                size,
                "truncated",
                f"the log ends at {size} entries, but a signed checkpoint covers {beyond[-1]}: "
                f"entries {size}..{beyond[-1] - 1} are missing",
            )
        self.report.tree_size = size
        self.report.root_hash = self.tree.root()
        return self.report


def verify_leaves(
    leaves: Iterable[bytes],
    checkpoints: Iterable[tuple[int, str]],
    trusted: note.Verifier | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Report, State]:
    """Verify a whole log from its leaf bytes and its signed checkpoints."""
    auditor = Auditor(trusted)
    auditor.expect_checkpoints(checkpoints)
    for count, data in enumerate(leaves, 1):
        auditor.feed(data)
        if progress is not None and count % 1000 == 0:
            progress(1000)
    report = auditor.finish()
    return report, auditor.state


def iter_lines(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        for line in f:
            yield line.rstrip(b"\n")
