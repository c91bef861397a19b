"""Offline verification of an auditor bundle: manifest, checkpoints and entries; no database."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ledger import limits, note
from ledger.encoding import loads
from ledger.errors import InputError, LedgerError, VerificationError
from ledger.files import check_file, replace_file
from ledger.verify.audit import Auditor, Report
from ledger.verify.receipts import open_trusted_checkpoint
from ledger.verify.spill import SpillState

BUNDLE_FORMAT = "coop-ledger-bundle/v1"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
LATEST = "checkpoint"
MANIFEST = "manifest.json"


def read_checkpoints(path: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    with limits.open_regular(path, "bundle file") as f:
        lines = limits.iter_lines(f, path.name, limits.CHECKPOINT_LINE_BYTES, "one checkpoint")
        for number, line in enumerate(lines, 1):
            record = loads(line)
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("size"), int)
                or not isinstance(record.get("note"), str)
            ):
                raise InputError(f"{path.name} line {number}: expected {{size, note}}")
            out.append((record["size"], record["note"]))
    return out


def iter_leaves(path: Path) -> Iterator[bytes]:
    """The leaf bytes of entries.jsonl, one a line; a line over the entry limit stops it."""
    with limits.open_regular(path, "bundle file") as f:
        yield from limits.iter_lines(f, path.name, limits.ENTRY_LINE_BYTES, "one entry")


def read_manifest(directory: Path, name: str, format_name: str, what: str) -> dict[str, Any]:
    """The manifest file `name` of a folder we were handed (a bundle, a GEM export): a JSON
    object of format `format_name`, or one InputError line saying what it is not."""
    path = directory / name
    if not os.path.lexists(path):
        raise InputError(f"{directory} is not {what}: it has no {name}")
    manifest = loads(limits.read_bytes(path, "manifest", limits.MANIFEST_BYTES))
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        raise InputError(f"{path}: not a {format_name} manifest")
    return manifest


def check_manifest(directory: Path, auditor: Auditor) -> int | None:
    """Each file's SHA-256 against the manifest: a mismatch is a finding, not a stop, so the
    entry-by-entry checks still name the first bad sequence number. Returns the tree size the
    manifest declares (None, with a finding, when it is not a tree size)."""
    manifest = read_manifest(directory, MANIFEST, BUNDLE_FORMAT, "a bundle")
    path = directory / MANIFEST
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise InputError(f"{path}: no files section")
    for name in (ENTRIES, CHECKPOINTS, LATEST):
        expected = files.get(name)
        if not isinstance(expected, dict):
            auditor.add(None, "manifest", f"{name} is not listed in the manifest")
            continue
        if not os.path.lexists(directory / name):
            auditor.add(None, "manifest", f"{name} is missing")
            continue
        digest = _sha256_file(directory / name)
        if digest != expected.get("sha256"):
            auditor.add(
                None, "manifest", f"{name}: SHA-256 {digest[:16]}… differs from the manifest"
            )
    size = manifest.get("tree_size")
    if type(size) is not int or not 0 <= size <= note.MAX_TREE_SIZE:
        auditor.add(None, "manifest", f"tree_size {size!r} is not a tree size")
        return None
    return size


def _check_manifest_size(auditor: Auditor, declared: int | None, report: Report) -> None:
    if declared is not None and declared != report.tree_size:
        auditor.add(
            None,
            "manifest",
            f"tree_size is {declared}, but the bundle holds {report.tree_size} entries",
        )


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with limits.open_regular(path, "bundle file") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def verify_bundle(
    directory: Path,
    trusted: note.Verifier,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> Report:
    """Full offline verification of a bundle against the log key the auditor trusts.

    Streams the entries (memory does not grow with the file); with workers > 1 the
    signatures are verified in that many processes, with the same findings in the same order."""
    if not directory.is_dir():
        raise InputError(f"bundle directory {directory} does not exist")
    # The replayed records go to a temporary file past a bounded cache: memory stays flat.
    state = SpillState()
    auditor = Auditor(trusted, state=state, workers=workers)
    try:
        declared = check_manifest(directory, auditor)
        checkpoints = read_checkpoints(directory / CHECKPOINTS)
        auditor.expect_checkpoints(checkpoints)
        latest_text = _read_checkpoint(directory / LATEST, "checkpoint")
        for count, data in enumerate(iter_leaves(directory / ENTRIES), 1):
            auditor.feed(data)
            if progress is not None and count % 1000 == 0:
                progress(1000)
        report = auditor.finish()
    finally:
        auditor.close()
        state.close()
    _check_manifest_size(auditor, declared, report)
    try:
        latest = note.open_checkpoint(latest_text, trusted)
    except LedgerError as e:
        auditor.add(None, "checkpoint", f"{LATEST}: {e}")
    else:
        if latest.tree_size != report.tree_size or latest.root_hash != report.root_hash:
            seq = report.first_bad_seq
            auditor.add(
                seq if seq is not None else min(latest.tree_size, report.tree_size),
                "checkpoint",
                f"{LATEST} signs size {latest.tree_size}, but the bundle's entries give size "
                f"{report.tree_size} with another root",
            )
        report.latest_checkpoint = latest_text
    return report


def _read_checkpoint(path: Path, what: str) -> str:
    return limits.read_text(path, what, limits.CHECKPOINT_BYTES)


def verify_bundle_since(
    directory: Path,
    trusted: note.Verifier,
    saved_path: Path,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Incremental audit from the checkpoint saved at the last audit.

    The bundle's own checkpoint must be signed by the pinned key and must extend the saved
    one: the bundle's first saved.tree_size entries must give the saved root and all its
    entries the new root. Recomputing both roots from the same leaves proves what a
    consistency proof would, and more (that these are the entries in between). Entries the
    last audit covered are replayed for state only; the new ones are checked in full, as are
    the new checkpoints. A fork, or a bundle older than the saved checkpoint, is refused with
    a VerificationError; other problems are findings. Only a clean report replaces the saved
    file, atomically, with the bundle's checkpoint.
    """
    check_file(saved_path, "saved checkpoint", replace=True)
    saved_text = _read_checkpoint(saved_path, "saved checkpoint")
    saved = open_trusted_checkpoint(saved_text, trusted, f"saved checkpoint {saved_path}")
    if not directory.is_dir():
        raise InputError(f"bundle directory {directory} does not exist")
    auditor = Auditor(trusted, check_signatures=False)
    declared = check_manifest(directory, auditor)
    latest_text = _read_checkpoint(directory / LATEST, "checkpoint")
    latest = open_trusted_checkpoint(latest_text, trusted, f"the bundle's {LATEST} file")
    _refuse_rollback_or_fork(saved, latest)
    # Only the new checkpoints are checked; the old ones were checked last time.
    auditor.expect_checkpoints(
        (size, text)
        for size, text in read_checkpoints(directory / CHECKPOINTS)
        if size > saved.tree_size
    )
    prefix_root: bytes | None = None
    for count, data in enumerate(iter_leaves(directory / ENTRIES), 1):
        if auditor.next_seq == saved.tree_size:
            prefix_root = auditor.tree.root()
            auditor.check_signatures = True
        auditor.feed(data)
        if progress is not None and count % 1000 == 0:
            progress(1000)
    if auditor.next_seq == saved.tree_size:
        prefix_root = auditor.tree.root()
    report = auditor.finish()
    _check_manifest_size(auditor, declared, report)
    _check_prefix(report, saved, latest, prefix_root)
    _check_size_and_root(auditor, report, saved, latest)
    report.latest_checkpoint = latest_text
    if report.ok:
        replace_file(saved_path, latest_text.encode("utf-8"), "saved checkpoint")
    return report


def _refuse_rollback_or_fork(saved: note.Checkpoint, latest: note.Checkpoint) -> None:
    """The bundle's checkpoint may not be older than the saved one, nor another of its size."""
    if latest.tree_size < saved.tree_size:
        raise VerificationError(
            f"the bundle's checkpoint signs size {latest.tree_size}, less than the saved "
            f"checkpoint's {saved.tree_size}: an older bundle, or a log rolled back"
        )
    if latest.tree_size == saved.tree_size and latest.root_hash != saved.root_hash:
        raise VerificationError(
            f"fork: the log key signed two checkpoints of size {saved.tree_size} with different "
            f"roots ({note.b64encode(saved.root_hash)} saved, {note.b64encode(latest.root_hash)} "
            "in the bundle)"
        )


def _check_prefix(
    report: Report, saved: note.Checkpoint, latest: note.Checkpoint, prefix_root: bytes | None
) -> None:
    """The bundle's first saved.tree_size entries must give the saved root: else a fork (when
    its own checkpoint matches its entries) or altered entries."""
    if prefix_root is not None and prefix_root != saved.root_hash:
        if (report.tree_size, report.root_hash) == (latest.tree_size, latest.root_hash):
            raise VerificationError(
                f"fork: the bundle's checkpoint (size {latest.tree_size}) is signed by the log "
                f"key but does not extend the saved checkpoint (size {saved.tree_size}): its "
                f"first {saved.tree_size} entries give another root, so the ledger shows a "
                "different history than at the last audit"
            )
        raise VerificationError(
            f"the bundle's first {saved.tree_size} entries do not give the saved checkpoint's "
            f"root, and its entries do not give its own checkpoint's root either: entries were "
            "altered; run verify without --since to find which"
        )


def _check_size_and_root(
    auditor: Auditor, report: Report, saved: note.Checkpoint, latest: note.Checkpoint
) -> None:
    """Findings where the bundle holds fewer or more entries than the checkpoints sign, or
    its entries give another root than its own checkpoint."""
    size, root = report.tree_size, report.root_hash
    matches_latest = (size, root) == (latest.tree_size, latest.root_hash)
    truncated = any(f.code == "truncated" for f in report.findings)
    if size < saved.tree_size:
        auditor.add(
            size,
            "truncated",
            f"the bundle holds {size} entries, but the saved checkpoint covers {saved.tree_size}",
        )
    elif size < latest.tree_size and not truncated:
        auditor.add(
            size,
            "truncated",
            f"the bundle holds {size} entries, but its {LATEST} file signs {latest.tree_size}",
        )
    elif size > latest.tree_size:
        auditor.add(
            latest.tree_size,
            "checkpoint",
            f"the bundle holds {size} entries, but its {LATEST} file signs only {latest.tree_size}",
        )
    elif not matches_latest and size == latest.tree_size:
        seq = report.first_bad_seq
        auditor.add(
            seq if seq is not None else size - 1,
            "checkpoint",
            f"{LATEST} signs root {note.b64encode(latest.root_hash)}, but the bundle's entries "
            f"give {note.b64encode(root)}",
        )
