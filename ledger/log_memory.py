"""The log key's own memory: the last checkpoint it signed, kept in a file beside the key."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ledger import note
from ledger.errors import LedgerError, StorageError, VerificationError
from ledger.keys import Signer

# Where the memory lives when it is not beside the key file (docs/OPERATIONS.md).
STATE_ENV = "COOPLEDGER_LOG_STATE"
SUFFIX = ".checkpoint"
_MAX_BYTES = 64 * 1024


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)


class LogMemory:
    """One file holding a checkpoint note the log key signed. Loaded and verified once per
    object; a memory that lags behind the database is safe (the writer proves the database
    consistent with it), one that runs ahead would lock the writer out, so it is written only
    after the commit (decision 0015)."""

    def __init__(self, path: Path, notice: Callable[[str], None] = _stderr) -> None:
        self.path = path
        self.notice = notice
        self._loaded = False
        self._checkpoint: note.Checkpoint | None = None
        self._text: str | None = None

    @classmethod
    def beside(
        cls,
        key_path: Path,
        env: Mapping[str, str] = os.environ,
        notice: Callable[[str], None] = _stderr,
    ) -> LogMemory:
        """The memory of the log key in `key_path`: `<key path>.checkpoint`, or $COOPLEDGER_LOG_STATE."""
        override = env.get(STATE_ENV)
        path = Path(override) if override else key_path.with_name(key_path.name + SUFFIX)
        return cls(path, notice)

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, log_signer: Signer) -> tuple[note.Checkpoint, str] | None:
        """The remembered checkpoint and its note text, verified against the log key; None when
        there is no memory yet."""
        if not self._loaded:
            self._text = self._read()
            if self._text is not None:
                self._checkpoint = self._open(self._text, log_signer)
            self._loaded = True
        if self._checkpoint is None or self._text is None:
            return None
        return self._checkpoint, self._text

    def _read(self) -> str | None:
        try:
            with self.path.open("rb") as f:
                data = f.read(_MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StorageError(f"cannot read the log key's memory {self.path}: {e.strerror}") from e
        if len(data) > _MAX_BYTES:
            raise VerificationError(
                f"the log key's memory {self.path} is over {_MAX_BYTES} bytes: not a checkpoint"
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationError(
                f"the log key's memory {self.path} is not UTF-8 text: restore it from its backup"
            ) from None

    def _open(self, text: str, log_signer: Signer) -> note.Checkpoint:
        verifier = note.Verifier.from_public_key(log_signer.name, log_signer.public_key)
        try:
            return note.open_checkpoint(text, verifier)
        except LedgerError as e:
            raise VerificationError(
                f"the log key's memory {self.path} is not a checkpoint signed by this log key "
                f"({e}): restore it from its backup"
            ) from e

    def remember(self, signed: str, log_signer: Signer) -> None:
        """Replace the memory with `signed` atomically (temporary file, fsync, rename, mode 0600).
        A failure is reported through `notice` as a warning: the entries are committed already."""
        try:
            self._write(signed)
        except OSError as e:
            self.notice(
                f"coopledger: warning: checkpoint committed, but the log key's memory "
                f"{self.path} was not updated: {e.strerror or e}"
            )
            return
        self._loaded_as(signed, log_signer)

    def save(self, signed: str, log_signer: Signer) -> None:
        """Write `signed` as the memory (atomically, mode 0600) when the write is the whole
        point (`coopledger log adopt`): a failure is an error, not a warning."""
        try:
            self._write(signed)
        except OSError as e:
            raise StorageError(
                f"cannot write the log key's memory {self.path}: {e.strerror or e}"
            ) from e
        self._loaded_as(signed, log_signer)

    def _loaded_as(self, signed: str, log_signer: Signer) -> None:
        verifier = note.Verifier.from_public_key(log_signer.name, log_signer.public_key)
        self._checkpoint = note.open_checkpoint(signed, verifier)
        self._text = signed
        self._loaded = True

    def _write(self, text: str) -> None:
        directory = self.path.parent
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def discard(self) -> None:
        """Remove the memory (a failed `init` that created it leaves nothing behind)."""
        self.path.unlink(missing_ok=True)
        self._loaded = False
        self._checkpoint = None
        self._text = None
