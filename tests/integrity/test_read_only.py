"""Defect 10: a read-only copy of a SQLite ledger can be read by every reading command;
writing commands on it fail with one line, exit 1."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

READING = [
    ["verify"],
    ["member", "list"],
    ["member", "show", "M-1"],
    ["log"],
    ["log", "show", "1"],
    ["checkpoint"],
    ["key", "list"],
    ["charter", "show"],
    ["share", "register"],
    ["proof", "inclusion", "1"],
    ["bundle", "export", "{out}"],
]


@pytest.fixture
def ledger_copy(cli_ledger: Any, tmp_path: Path) -> tuple[Any, Path]:
    """A ledger with a member, closed (no -wal or -shm left), and a copy of its file."""
    cli = cli_ledger
    admin = str(cli.keys["coop-admin"])
    cli.ok("member", "admit", "--id", "M-1", "--kind", "person", "--name", "Ans", "--key", admin)
    db = Path(cli.env["COOPLEDGER_DB"])
    assert not Path(f"{db}-wal").exists()
    return cli, db


@pytest.fixture
def read_only_medium(ledger_copy: tuple[Any, Path], tmp_path: Path) -> Iterator[Path]:
    """The ledger file on a tmpfs remounted read-only: no -shm can be made, even by root."""
    _, db = ledger_copy
    mount = tmp_path / "medium"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        shutil.copy(db, mount / "ledger.db")
        ro = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only: {ro.stderr.decode().strip()}")
        yield mount / "ledger.db"
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_every_reading_command_reads_a_read_only_medium(
    ledger_copy: tuple[Any, Path], read_only_medium: Path, tmp_path: Path
) -> None:
    cli, _ = ledger_copy
    for argv in READING:
        out = tmp_path / f"bundle-{len(argv)}"
        args = [a.format(out=out) for a in argv]
        result = cli(*args, "--db", str(read_only_medium))
        assert result.code == 0, (args, result.err)
    assert sorted(os.listdir(read_only_medium.parent)) == ["ledger.db"]


def test_writing_on_a_read_only_medium_is_one_line(
    ledger_copy: tuple[Any, Path], read_only_medium: Path
) -> None:
    cli, _ = ledger_copy
    admin = str(cli.keys["coop-admin"])
    result = cli(
        "member",
        "admit",
        "--id",
        "M-2",
        "--kind",
        "person",
        "--name",
        "Bo",
        "--key",
        admin,
        "--db",
        str(read_only_medium),
    )
    assert result.code == 1, result.err
    assert result.err == f"coopledger: error: database {read_only_medium} is read-only\n"


def _others_reach(path: Path) -> bool:
    """Whether every folder above `path` lets other users through (a clone inside a 0700
    folder, as `mktemp -d` makes, does not)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in Path(os.path.abspath(path)).parents)


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run as the unprivileged user nobody")
    hidden = [p for p in (REPO, Path(sys.executable)) if not _others_reach(p)]
    if hidden:
        pytest.skip(f"the user nobody cannot reach {hidden[0]} (a private folder above it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPLEDGER_")}
    env["COOPLEDGER_PASSPHRASE"] = "test-pass"
    cmd = [
        setpriv,
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        sys.executable,
        "-m",
        "cli.main",
        *args,
    ]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's private (0700) temporary tree, searchable by nobody."""
    base = Path(tempfile.mkdtemp(prefix="coopledger-ro-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for path in (base, *base.rglob("*")):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base)


def test_a_chmod_ed_copy_reads_and_refuses_writes_for_an_unprivileged_user(
    ledger_copy: tuple[Any, Path], shared_dir: Path
) -> None:
    cli, db = ledger_copy
    folder = shared_dir / "audit"
    folder.mkdir()
    copy = folder / "ledger.db"
    shutil.copy(db, copy)
    keys = shared_dir / "keys"
    keys.mkdir()
    for role in ("coop-admin", "log"):
        shutil.copy(cli.keys[role], keys / f"{role}.key")
        (keys / f"{role}.key").chmod(0o444)
    copy.chmod(0o444)
    folder.chmod(0o555)
    for argv in (["verify"], ["member", "list"], ["log"]):
        result = _as_nobody(*argv, "--db", str(copy))
        assert result.returncode == 0, (argv, result.stderr)
    assert sorted(os.listdir(folder)) == ["ledger.db"]
    result = _as_nobody(
        "member",
        "admit",
        "--id",
        "M-2",
        "--kind",
        "person",
        "--name",
        "Bo",
        "--key",
        str(keys / "coop-admin.key"),
        "--log-key",
        str(keys / "log.key"),
        "--db",
        str(copy),
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"coopledger: error: database {copy} is read-only\n"
