"""Auditor bundles: the leaf bytes as JSON Lines, the signed checkpoints and a hashed manifest."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger import note
from ledger.audit import Auditor, Report
from ledger.encoding import canonical, loads
from ledger.errors import InputError, LedgerError
from ledger.storage.store import ReadTx

BUNDLE_FORMAT = "coop-ledger-bundle/v1"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
LATEST = "checkpoint"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Exported:
    directory: Path
    entries: int
    checkpoints: int
    checkpoint: str


def export_bundle(tx: ReadTx, directory: Path) -> Exported:
    """Write the bundle from one consistent snapshot; refuse to mix with an existing one."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / MANIFEST).exists() or (directory / ENTRIES).exists():
        raise InputError(f"{directory} already holds a bundle; export into a new directory")
    size, _ = tx.head()
    latest = tx.checkpoint()
    if latest is None:
        raise InputError("the ledger has no signed checkpoint yet; nothing to export")
    hashes: dict[str, dict[str, object]] = {}
    count = 0
    with _HashingWriter(directory / ENTRIES) as out:
        for _seq, data in tx.entries(0, size):
            out.write(data + b"\n")
            count += 1
    hashes[ENTRIES] = out.summary()
    checkpoints = 0
    with _HashingWriter(directory / CHECKPOINTS) as out:
        for cp_size, _root, text in tx.checkpoints():
            if cp_size > size:
                continue
            out.write(canonical({"size": cp_size, "note": text}) + b"\n")
            checkpoints += 1
    hashes[CHECKPOINTS] = out.summary()
    with _HashingWriter(directory / LATEST) as out:
        out.write(latest[2].encode("utf-8"))
    hashes[LATEST] = out.summary()
    manifest = {
        "format": BUNDLE_FORMAT,
        "tree_size": size,
        "checkpoint": latest[2],
        "files": hashes,
    }
    (directory / MANIFEST).write_bytes(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    )
    return Exported(directory, count, checkpoints, latest[2])


class _HashingWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha = hashlib.sha256()
        self.size = 0

    def __enter__(self) -> _HashingWriter:
        self.f = open(self.path, "wb")  # noqa: SIM115 - closed in __exit__
        return self

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.f.write(data)

    def __exit__(self, *exc: object) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()

    def summary(self) -> dict[str, object]:
        return {"sha256": self.sha.hexdigest(), "bytes": self.size}


def read_checkpoints(path: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    try:
        with open(path, "rb") as f:
            for number, line in enumerate(f, 1):
                record = loads(line)
                if not isinstance(record, dict) or not isinstance(record.get("size"), int) or not isinstance(
                    record.get("note"), str
                ):
                    raise InputError(f"{path.name} line {number}: expected {{size, note}}")
                out.append((record["size"], record["note"]))
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    return out


def iter_leaves(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            for line in f:
                yield line[:-1] if line.endswith(b"\n") else line
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e


def check_manifest(directory: Path, auditor: Auditor) -> None:
    """Each file's SHA-256 against the manifest: a mismatch is a finding, not a stop, so the
    entry-by-entry checks still name the first bad sequence number."""
    path = directory / MANIFEST
    try:
        manifest = loads(path.read_bytes())
    except OSError as e:
        raise InputError(f"{directory} is not a bundle: cannot read {MANIFEST} ({e.strerror})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{path}: not a {BUNDLE_FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise InputError(f"{path}: no files section")
    for name in (ENTRIES, CHECKPOINTS, LATEST):
        expected = files.get(name)
        if not isinstance(expected, dict):
            auditor.add(None, "manifest", f"{name} is not listed in the manifest")
            continue
        try:
            digest = _sha256_file(directory / name)
        except OSError:
            auditor.add(None, "manifest", f"{name} is missing")
            continue
        if digest != expected.get("sha256"):
            auditor.add(None, "manifest", f"{name}: SHA-256 {digest[:16]}… differs from the manifest")


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def verify_bundle(
    directory: Path,
    trusted: note.Verifier,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Full offline verification of a bundle against the log key the auditor trusts."""
    if not directory.is_dir():
        raise InputError(f"bundle directory {directory} does not exist")
    auditor = Auditor(trusted)
    check_manifest(directory, auditor)
    checkpoints = read_checkpoints(directory / CHECKPOINTS)
    auditor.expect_checkpoints(checkpoints)
    latest_text = _read_text(directory / LATEST)
    for count, data in enumerate(iter_leaves(directory / ENTRIES), 1):
        auditor.feed(data)
        if progress is not None and count % 1000 == 0:
            progress(1000)
    report = auditor.finish()
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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from e


def verify_bundle_since(
    directory: Path,
    trusted: note.Verifier,
    saved_path: Path,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Incremental audit: the saved checkpoint must be a prefix of the bundle's log (same root
    at its size, so the new checkpoint is consistent with it), and only the entries after it
    are checked signature by signature. On success the new checkpoint replaces the saved one."""
    saved_text = _read_text(saved_path)
    try:
        saved = note.open_checkpoint(saved_text, trusted)
    except LedgerError as e:
        raise note.NoteError(f"saved checkpoint {saved_path}: {e}") from e
    if not directory.is_dir():
        raise InputError(f"bundle directory {directory} does not exist")
    auditor = Auditor(trusted, check_signatures=False)
    check_manifest(directory, auditor)
    latest_text = _read_text(directory / LATEST)
    latest = note.open_checkpoint(latest_text, trusted)
    if latest.tree_size < saved.tree_size:
        auditor.add(
            latest.tree_size,
            "fork",
            f"the bundle's checkpoint has size {latest.tree_size}, smaller than the saved "
            f"checkpoint's {saved.tree_size}: the log was truncated or rolled back",
        )
        return auditor.finish()
    # Only the new checkpoints are checked; the old ones were checked last time.
    auditor.expect_checkpoints(
        (size, text) for size, text in read_checkpoints(directory / CHECKPOINTS) if size > saved.tree_size
    )
    for count, data in enumerate(iter_leaves(directory / ENTRIES), 1):
        if auditor.next_seq == saved.tree_size:
            _check_prefix(auditor, saved)
            auditor.check_signatures = True
        auditor.feed(data)
        if progress is not None and count % 1000 == 0:
            progress(1000)
    if auditor.next_seq == saved.tree_size:
        _check_prefix(auditor, saved)
    report = auditor.finish()
    if auditor.tree.tree_size < latest.tree_size:
        pass  # finish() reported the truncation against the checkpoints list
    elif report.root_hash != latest.root_hash and auditor.tree.tree_size == latest.tree_size:
        auditor.add(report.first_bad_seq, "checkpoint", f"{LATEST} does not sign the bundle's root")
    if report.ok:
        saved_path.write_text(latest_text, encoding="utf-8")
    report.latest_checkpoint = latest_text
    return report


def _check_prefix(auditor: Auditor, saved: note.Checkpoint) -> None:
    if auditor.tree.root() != saved.root_hash:
        auditor.add(
            saved.tree_size - 1 if saved.tree_size else None,
            "fork",
            f"the first {saved.tree_size} entries do not give the saved checkpoint's root: this log "
            "forks from the one audited last time",
        )
