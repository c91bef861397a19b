"""Auditor bundles: the leaf bytes as JSON Lines, the signed checkpoints and a hashed manifest.

This is the writing side, from the store; reading and verifying a bundle is offline, in
ledger/verify/bundle.py, which owns the format's names."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ledger.encoding import canonical
from ledger.errors import InputError
from ledger.files import NewFolder, check_folder, new_folder
from ledger.storage.store import ReadTx
from ledger.verify.bundle import BUNDLE_FORMAT, CHECKPOINTS, ENTRIES, LATEST, MANIFEST


@dataclass(frozen=True)
class Exported:
    directory: Path
    entries: int
    checkpoints: int
    checkpoint: str


def export_bundle(tx: ReadTx, directory: Path) -> Exported:
    """Write the bundle from one consistent snapshot into a new (or empty) folder, built
    aside and renamed into place, so it is complete or absent."""
    manifest_path = directory / MANIFEST
    if manifest_path.is_symlink() or manifest_path.exists() or (directory / ENTRIES).exists():
        raise InputError(f"{directory} already holds a bundle; export into a new directory")
    check_folder(directory, "bundle folder")
    size, _ = tx.head()
    latest = tx.checkpoint()
    if latest is None:
        raise InputError("the ledger has no signed checkpoint yet; nothing to export")
    hashes: dict[str, dict[str, object]] = {}
    count = 0
    checkpoints = 0
    with new_folder(directory, "bundle folder") as folder:
        with _HashingWriter(folder, ENTRIES) as out:
            for _seq, data in tx.entries(0, size):
                out.write(data + b"\n")
                count += 1
        hashes[ENTRIES] = out.summary()
        with _HashingWriter(folder, CHECKPOINTS) as out:
            for cp_size, _root, text in tx.checkpoints():
                if cp_size > size:
                    continue
                out.write(canonical({"size": cp_size, "note": text}) + b"\n")
                checkpoints += 1
        hashes[CHECKPOINTS] = out.summary()
        with _HashingWriter(folder, LATEST) as out:
            out.write(latest[2].encode("utf-8"))
        hashes[LATEST] = out.summary()
        manifest = {
            "format": BUNDLE_FORMAT,
            "tree_size": size,
            "checkpoint": latest[2],
            "files": hashes,
        }
        folder.write(
            MANIFEST,
            json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
            + b"\n",
        )
    return Exported(directory, count, checkpoints, latest[2])


class _HashingWriter:
    def __init__(self, folder: NewFolder, name: str) -> None:
        self.file = folder.open(name)
        self.sha = hashlib.sha256()
        self.size = 0

    def __enter__(self) -> _HashingWriter:
        return self

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.file.write(data)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.file.__exit__(kind, exc, tb)

    def summary(self) -> dict[str, object]:
        return {"sha256": self.sha.hexdigest(), "bytes": self.size}
