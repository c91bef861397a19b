"""Offline verification: replay leaf bytes and signed checkpoints; no database, no private key."""

from __future__ import annotations

import base64
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ledger import limits, merkle, note
from ledger.errors import LedgerError
from ledger.keys import decode_public_key, key_id
from ledger.model import (
    GENESIS_PREV,
    Entry,
    PlainLeaf,
    SignedEntry,
    decode_leaf,
    plain_leaf,
    signing_message,
)
from ledger.state import META, MemoryState, State, apply, apply_entry, public_key_of
from ledger.verify import sigpool

# Deferred events of a pooled audit, settled in feed order (Auditor._settle_one).
_FINDING, _SIGNATURE, _CHECKPOINT = 0, 1, 2
_Event = tuple[int, object]
# Signatures per task sent to a worker: large enough to amortise the pickling, small enough
# that the main process never waits long for the first result.
_CHUNK = 512
# The findings a report keeps; the rest are counted (Report.omitted).
MAX_FINDINGS = 10_000


@dataclass(frozen=True)
class Finding:
    """One thing that does not verify; seq is None for findings about what was verified as a
    whole (the bundle, or the database: its Report's `scope`)."""

    seq: int | None
    code: str
    message: str

    def line(self, scope: str = "bundle") -> str:
        where = scope if self.seq is None else f"entry {self.seq}"
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
    # What a finding with no entry is about: "bundle" offline, "database" on a live store.
    scope: str = "bundle"
    # Findings past MAX_FINDINGS are counted, not kept: a bundle of a million junk lines must
    # not hold a million messages in memory (issue 11, bounded reading of untrusted input).
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def total_findings(self) -> int:
        return len(self.findings) + self.omitted

    def note(self, finding: Finding) -> None:
        """Keep a finding (the first MAX_FINDINGS, in feed order), or count it."""
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.omitted += 1

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
            "findings_omitted": self.omitted,
        }


def expected_signers(state: State, signed: SignedEntry) -> list[bytes | None]:
    """The public keys the signatures must come from: the author (and, for entry 0, the log key
    named in its body), looked up in the key registry as it stood before this entry."""
    entry = signed.entry
    return _expected_keys(state, entry.kind, entry.body, entry.key_id)


def _expected_keys(
    state: State, kind: str, body: dict[str, Any], author: str
) -> list[bytes | None]:
    if kind == "ledger.founded":
        gov = body.get("governor", {}).get("public_key")
        log = body.get("log_key", {}).get("public_key")
        return [_maybe_key(gov), _maybe_key(log)]
    return [public_key_of(state, author)]


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
        workers: int = 1,
    ) -> None:
        self.trusted = trusted
        self.state: State = state if state is not None else MemoryState()
        self.report = Report()
        self.tree = merkle.RootAccumulator()
        self.next_seq = start
        self.prev_hash = prev_hash
        self.check_signatures = check_signatures
        self._checkpoints: dict[int, str] = {}
        # The last leaf's signed index fields (kind, key_id, effective, recorded_at,
        # request_id), for a store's check of its index columns; None if it did not decode.
        self.last_index: tuple[str, str, str, str, str | None] | None = None
        # With workers > 1, signatures are verified in workers - 1 helper processes while this
        # one decodes, hashes and applies (so `workers` counts every process doing the work). A signature's result arrives later, so until then this
        # entry's findings, and everything after it, wait in order as events (below) and are
        # reported exactly as the one-process run reports them.
        self.workers = max(1, workers)
        self._pool: Any = None
        self._jobs: list[sigpool.Job] = []
        self._events: list[_Event] = []
        self._inflight: deque[tuple[Any, list[_Event]]] = deque()
        self._settling = False

    def add(self, seq: int | None, code: str, message: str) -> None:
        if self._deferring():
            self._events.append((_FINDING, Finding(seq, code, message)))
        else:
            self.report.note(Finding(seq, code, message))

    def _deferring(self) -> bool:
        if self._settling:
            return False  # a settled event's finding goes to the report, in its place
        return bool(self._events or self._jobs or self._inflight)

    def expect_checkpoints(self, checkpoints: Iterable[tuple[int, str]]) -> None:
        for size, text in checkpoints:
            earlier = self._checkpoints.get(size)
            if earlier is not None and earlier != text:
                # Two different signed notes for one tree size: evidence of a fork (or of a
                # replaced checkpoint), never something a single honest log produces.
                self.add(
                    size - 1 if size > 0 else None,
                    "checkpoint",
                    f"two different checkpoints are filed for tree size {size}",
                )
                continue
            self._checkpoints[size] = text

    def feed(self, data: bytes) -> None:
        seq = self.next_seq
        self.next_seq += 1
        digest = merkle.leaf_hash(data)
        self.tree.push(digest)
        self.report.entries += 1
        prev = self.prev_hash
        self.prev_hash = digest
        self.last_index = None
        leaf = plain_leaf(data)
        if leaf is None:
            if not self._feed_model(seq, prev, data):
                return  # a malformed leaf: its checkpoint is not checked (as always)
        else:
            self._feed_plain(seq, prev, leaf)
        self._maybe_check_root()

    def _check_place(self, seq: int, prev: bytes | None, entry: PlainLeaf | Entry) -> None:
        """The entry's sequence number and link to the previous leaf (both decodings alike);
        remembers its index columns for the store checks."""
        self.last_index = (
            entry.kind,
            entry.key_id,
            entry.effective.isoformat(),
            entry.recorded_at,
            entry.request_id,
        )
        if entry.seq != seq:
            self.add(seq, "sequence", f"expected sequence number {seq}, found {entry.seq}")
        expected_prev = GENESIS_PREV if seq == 0 else (prev.hex() if prev is not None else None)
        if expected_prev is not None and entry.prev != expected_prev:
            self.add(
                seq,
                "link",
                f"prev is {entry.prev[:16]}…, expected the previous leaf hash {expected_prev[:16]}…",
            )

    def _feed_plain(self, seq: int, prev: bytes | None, leaf: PlainLeaf) -> None:
        """feed() for a leaf plain_leaf() decoded: the same checks, on fields, no models."""
        self._check_place(seq, prev, leaf)
        if self.check_signatures:
            keys = _expected_keys(self.state, leaf.kind, leaf.body, leaf.key_id)
            self._verify(
                seq,
                leaf.kind,
                [k for k, _ in leaf.signatures],
                [r for _, r in leaf.signatures],
                keys,
                leaf.entry_bytes,
            )
        if seq == 0:
            self._genesis(leaf.body)
        try:
            apply_entry(
                self.state,
                leaf.kind,
                leaf.body,
                leaf.seq,
                leaf.effective,
                leaf.recorded_at,
                leaf.key_id,
                leaf.request_id,
                [k for k, _ in leaf.signatures],
            )
        except LedgerError as e:
            self.add(seq, "rule", str(e))

    def _feed_model(self, seq: int, prev: bytes | None, data: bytes) -> bool:
        """feed() through the pydantic models, for leaves off the fast path; False when the
        leaf does not decode."""
        try:
            signed = decode_leaf(data, f"entry {seq}")
        except LedgerError as e:
            self.add(seq, "malformed", str(e))
            return False
        entry = signed.entry
        self._check_place(seq, prev, entry)
        if self.check_signatures:
            self._check_signatures(seq, signed)
        if seq == 0:
            self._check_genesis(signed)
        try:
            apply(self.state, signed)
        except LedgerError as e:
            self.add(seq, "rule", str(e))
        return True

    def _check_signatures(self, seq: int, signed: SignedEntry) -> None:
        keys = expected_signers(self.state, signed)
        self._verify(
            seq,
            signed.entry.kind,
            [s.key_id for s in signed.signatures],
            [s.raw for s in signed.signatures],
            keys,
            signed.entry.canonical_bytes(),
        )

    def _verify(
        self,
        seq: int,
        kind: str,
        sig_key_ids: list[str],
        raw_sigs: list[bytes],
        keys: list[bytes | None],
        entry_bytes: bytes,
    ) -> None:
        if len(sig_key_ids) != len(keys):
            self.add(
                seq,
                "signature",
                f"{len(sig_key_ids)} signatures, expected {len(keys)} for {kind}",
            )
            return
        message = signing_message(entry_bytes)
        for sig_key, raw, key in zip(sig_key_ids, raw_sigs, keys, strict=True):
            if key is None:
                self.add(seq, "signature", f"signed by unknown key {sig_key[:16]}")
                continue
            if key_id(key) != sig_key:
                self.add(
                    seq,
                    "signature",
                    f"signature names key {sig_key[:16]}, expected {key_id(key)[:16]}",
                )
                continue
            if self.workers == 1:
                if not sigpool.verifies(key, raw, message):
                    self.add(seq, "signature", f"signature by key {sig_key[:16]} does not verify")
            else:
                self._events.append((_SIGNATURE, (len(self._jobs), seq, sig_key)))
                self._jobs.append((key, raw, message))
                if len(self._jobs) >= _CHUNK:
                    self._submit()

    # -- the pool ---------------------------------------------------------------------------

    def _submit(self) -> None:
        if self._pool is None:
            # fork: the workers need no imports and never re-run the caller's main module
            # (spawn would, and a script without a __main__ guard would start again).
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            ctx = multiprocessing.get_context(method)
            self._pool = ctx.Pool(self.workers - 1)
        pending = self._pool.apply_async(sigpool.failing, (self._jobs,))
        self._inflight.append((pending, self._events))
        self._jobs, self._events = [], []
        while len(self._inflight) > 2 * self.workers + 2:
            self._settle_one()

    def _settle_one(self) -> None:
        pending, events = self._inflight.popleft()
        bad = set(pending.get())
        self._settling = True
        try:
            self._settle(events, bad)
        finally:
            self._settling = False

    def _settle(self, events: list[_Event], bad: set[int]) -> None:
        for kind, item in events:
            if kind == _FINDING:
                assert isinstance(item, Finding)
                self.report.note(item)
            elif kind == _SIGNATURE:
                index, seq, sig_key = cast(tuple[int, int, str], item)
                if index in bad:
                    self.report.note(
                        Finding(
                            seq, "signature", f"signature by key {sig_key[:16]} does not verify"
                        )
                    )
            else:
                size, text, root, verifier = cast(
                    tuple[int, str, bytes, "note.Verifier | None"], item
                )
                self._check_checkpoint_now(size, text, root, verifier)

    def _drain(self) -> None:
        """Settle every event: after it, findings are complete and in feed order."""
        if self._jobs or self._events:
            self._submit()
        while self._inflight:
            self._settle_one()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def _check_genesis(self, signed: SignedEntry) -> None:
        self._genesis(signed.entry.body)

    def _genesis(self, body: dict[str, Any]) -> None:
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
        meta = self.state.get(META, "ledger")
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
        if self._deferring():
            # Its finding names the first bad entry so far: wait for the signatures before it.
            self._events.append((_CHECKPOINT, (size, text, root, verifier)))
            return
        self._check_checkpoint_now(size, text, root, verifier)

    def _check_checkpoint_now(
        self, size: int, text: str, root: bytes, verifier: note.Verifier | None
    ) -> None:
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
        self._drain()
        self.close()
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
    workers: int = 1,
) -> tuple[Report, State]:
    """Verify a whole log from its leaf bytes and its signed checkpoints."""
    auditor = Auditor(trusted, workers=workers)
    auditor.expect_checkpoints(checkpoints)
    for count, data in enumerate(leaves, 1):
        auditor.feed(data)
        if progress is not None and count % 1000 == 0:
            progress(1000)
    report = auditor.finish()
    return report, auditor.state


def iter_lines(path: str) -> Iterator[bytes]:
    """The leaves of a file of one leaf a line, within the limits of a bundle's entries."""
    with limits.open_regular(Path(path), "entries file") as f:
        yield from limits.iter_lines(f, path, limits.ENTRY_LINE_BYTES, "one entry")
