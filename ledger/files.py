"""Safe writing of every file the ledger produces: checked first, never through a symlink, written
under a temporary name, fsynced and renamed into place, so an output is complete or absent."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

from ledger.errors import OutputError

# A new file is ours alone: created, never opened through a symlink, not inherited by children.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20
# Filesystems without hard links (FAT on a USB stick) answer os.link with one of these.
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}
# A filesystem that cannot fsync a directory says so with these; the rename is still done.
_NO_DIR_FSYNC = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EBADF}


def check_file(path: Path, what: str, replace: bool) -> None:
    """Refuse, before any work is done, a path that cannot take the file: its folder missing or
    not writable, the path a symlink, a folder or a special file, or (unless `replace`) any
    existing file."""
    _check_folder_writable(path, what)
    kind = _kind(path)
    if kind is None:
        return
    if kind == "symbolic link":
        raise OutputError(f"{what} {path} is a symbolic link; not writing through it")
    if kind != "file":
        raise OutputError(f"{what} {path} is a {kind}, not a regular file; not writing to it")
    if not replace:
        raise OutputError(f"{what} {path} already exists; not overwriting it")


def create_file(path: Path, data: bytes, what: str, mode: int = 0o666) -> None:
    """Write a new file; an existing one (or anything else at the path) is never overwritten."""
    check_file(path, what, replace=False)
    with _failing_as(path, what):
        tmp = _write_temp(path, data, mode)
        try:
            _link_new(tmp, path, what)
        finally:
            _remove_file(tmp)
        _settle(path.parent, lambda: _remove_file(path))


def replace_file(path: Path, data: bytes, what: str, mode: int = 0o666) -> None:
    """Write a file, atomically replacing a regular file of that name (never a symlink)."""
    check_file(path, what, replace=True)
    with _failing_as(path, what):
        tmp = _write_temp(path, data, mode)
        try:
            os.replace(tmp, path)
        except BaseException:
            _remove_file(tmp)
            raise
        _settle(path.parent, lambda: _remove_file(path))


def check_folder(path: Path, what: str) -> None:
    """Refuse, before any work is done, a folder target that is a symlink, not a folder, or a
    folder that is not empty; a missing one (and its missing parents) will be created."""
    kind = _kind(path)
    if kind is None:
        parent = _existing_ancestor(path)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write {what} {path}: folder {parent} is not writable")
        return
    if kind == "symbolic link":
        raise OutputError(f"{what} {path} is a symbolic link; not writing through it")
    if kind != "folder":
        raise OutputError(f"{what} {path} is a {kind}, not a folder; not writing to it")
    if any(path.iterdir()):
        raise OutputError(f"{what} {path} is not empty; export into a new or empty folder")
    _check_folder_writable(path, what)


class NewFolder:
    """A folder being built under a temporary sibling name; its files are created exclusively."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, name: str, data: bytes) -> None:
        with self.open(name) as f:
            f.write(data)

    def open(self, name: str) -> NewFile:
        return NewFile(self.path / name)


@contextmanager
def new_folder(path: Path, what: str) -> Iterator[NewFolder]:
    """Build a folder in a temporary sibling and rename it into place when the block ends, so
    it is complete or absent; any failure removes the sibling, a disk error is named."""
    check_folder(path, what)
    with _failing_as(path, what):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_name(path)
        os.mkdir(tmp, 0o777)
        try:
            yield NewFolder(tmp)
            _fsync_dir(tmp)
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _settle(path.parent, lambda: shutil.rmtree(path, ignore_errors=True))


class NewFile:
    """A file created exclusively, never through a symlink, written in large chunks with
    os.write and fsynced when closed."""

    def __init__(self, path: Path, mode: int = 0o666) -> None:
        self.path = path
        self.fd = os.open(path, _CREATE, mode)
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= _CHUNK:
            self._drain()

    def _drain(self) -> None:
        _write_all(self.fd, bytes(self.buffer))
        self.buffer.clear()

    def __enter__(self) -> NewFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self._drain()
                os.fsync(self.fd)
        finally:
            os.close(self.fd)


# -- the steps ---------------------------------------------------------------------------------


@contextmanager
def _failing_as(path: Path, what: str) -> Iterator[None]:
    """An OSError while writing becomes one line naming the output and, if so, a full disk."""
    try:
        yield
    except OSError as e:
        raise OutputError(f"cannot write {what} {path}: {_reason(e)}") from e


def _reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "the disk is full (no space left on device)"
    if e.errno == errno.EDQUOT:
        return "the disk quota is used up"
    return e.strerror or str(e)


def _check_folder_writable(path: Path, what: str) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {what} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what} {path}: folder {parent} is not writable")


def _existing_ancestor(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.is_dir():
            return parent
    return Path("/")


def _kind(path: Path) -> str | None:
    """What is at path, without following a symlink; None when nothing is."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_reason(e)}") from e
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    tmp = _temp_name(path)
    fd = os.open(tmp, _CREATE, mode)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _remove_file(tmp)
        raise
    return tmp


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _link_new(tmp: Path, path: Path, what: str) -> None:
    """Give the written file its name only if the name is free (a hard link never replaces)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputError(f"{what} {path} already exists; not overwriting it") from None
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
        _reserve_and_replace(tmp, path, what)


def _reserve_and_replace(tmp: Path, path: Path, what: str) -> None:
    """Without hard links: claim the name with an exclusive empty file, then rename over it."""
    try:
        os.close(os.open(path, _CREATE, 0o600))
    except FileExistsError:
        raise OutputError(f"{what} {path} already exists; not overwriting it") from None
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove_file(path)
        raise


def _settle(folder: Path, undo: Callable[[], None]) -> None:
    """Make the rename durable; if the folder cannot be synced, take back what was placed."""
    try:
        _fsync_dir(folder)
    except BaseException:
        undo()
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in _NO_DIR_FSYNC:
            raise
    finally:
        os.close(fd)


def _remove_file(path: Path) -> None:
    """Best effort, on the way out of a failure: the failure is what gets reported."""
    with suppress(OSError):
        os.unlink(path)
