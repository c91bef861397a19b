"""Bounds on everything read from outside: sizes, line lengths, nesting, file types.

Every reader of a file a user or an auditor hands us goes through here, so that a FIFO, a
device, a huge file or a huge line is refused at once, with one line naming the limit."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ledger.errors import InputError, LedgerError

KIB = 1 << 10
MIB = 1 << 20

# Whole files, by kind. A key file is a name line and an encrypted PKCS#8 PEM (some 400
# bytes); a signed checkpoint is three lines and at most note.MAX_SIGNATURES signature lines
# (each under 200 bytes); a receipt is a checkpoint and at most 63 proof hashes (2**63 leaves).
KEY_FILE_BYTES = 16 * KIB
CHECKPOINT_BYTES = 64 * KIB
RECEIPT_BYTES = 1 * MIB
CHARTER_BYTES = 1 * MIB
MANIFEST_BYTES = 1 * MIB
GEM_FILE_BYTES = 256 * MIB
# One line of a bundle. The largest legitimate entry is a charter (the founding entry or an
# amendment): a charter file of at most CHARTER_BYTES grows at most twofold as JSON (a
# quote or backslash gains an escape), plus a few hundred bytes of envelope and signatures.
ENTRY_LINE_BYTES = 4 * MIB
CHECKPOINT_LINE_BYTES = 2 * CHECKPOINT_BYTES  # a checkpoint, JSON-escaped, with its size
# orjson refuses nesting deeper than this while it parses (in C, before any recursion of
# ours); legitimate entries nest a handful of levels.
JSON_DEPTH = 1024
# A tree of at most 2**63 - 1 leaves has paths of at most 63 hashes.
PROOF_HASHES = 63

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISSOCK, "a socket"),
)


def size_text(n: int) -> str:
    """4194304 -> '4 MiB', 16384 -> '16 KiB' (limits are whole KiB or MiB)."""
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path, what: str, error: type[LedgerError] = InputError) -> BinaryIO:
    """Open path for reading only if it is a regular file (after symlinks). The open is
    non-blocking, so a FIFO with no writer cannot hang it; the type is checked on the open
    descriptor, so the file cannot be swapped between the check and the read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise error(f"cannot read {what} {path}: {e.strerror}") from e
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path} is {_kind(mode)}, not a regular file") from e
        raise error(f"cannot read {what} {path}: {e.strerror}") from e
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{what} {path} is {_kind(mode)}, not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(path: Path, what: str, limit: int, error: type[LedgerError] = InputError) -> bytes:
    """The whole of a regular file of at most `limit` bytes; never reads more than limit + 1."""
    with open_regular(path, what, error) as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise error(f"cannot read {what} {path}: {e.strerror}") from e
    if len(data) > limit:
        article = "an" if what[:1] in "aeiou" else "a"
        raise error(
            f"{what} {path} is larger than {size_text(limit)} (the limit for {article} {what})"
        )
    return data


def read_text(path: Path, what: str, limit: int, error: type[LedgerError] = InputError) -> str:
    """read_bytes, decoded as UTF-8."""
    data = read_bytes(path, what, limit, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{what} {path} is not UTF-8 text (byte offset {e.start})") from e


def iter_lines(f: BinaryIO, name: str, limit: int, what: str) -> Iterator[bytes]:
    """The lines of an open file without their newline; a line longer than `limit` bytes
    stops the reading (at limit + 1 bytes, never the whole line) with an InputError."""
    number = 0
    while True:
        try:
            line = f.readline(limit + 1)
        except OSError as e:
            raise InputError(f"cannot read {name}: {e.strerror}") from e
        if not line:
            return
        number += 1
        if line.endswith(b"\n"):
            yield line[:-1]
        elif len(line) > limit:
            raise InputError(
                f"{name} line {number} is longer than {size_text(limit)} (the limit for {what})"
            )
        else:
            yield line


def depth_problem(message: str) -> str | None:
    """orjson's message for too deep a nesting, said with the limit; None for other errors."""
    if "depth limit" in message or "recursion limit" in message:
        return f"JSON nested deeper than {JSON_DEPTH} levels (the limit for JSON nesting)"
    return None
