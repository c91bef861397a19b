"""Defect 9: anything a user can cause exits 1 or 2 with one line naming the value, never 3."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.charter import TEMPLATE


def _dump(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _one_line_refusal(result: Any, codes: set[int], names: str) -> None:
    assert result.code in codes, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("coopledger: error: "), result.err
    assert "internal error" not in result.err and "Traceback" not in result.err + result.out
    assert names in lines[0], result.err


@pytest.fixture
def ledger_cli(cli_ledger: Any, tmp_path: Path) -> Any:
    cli = cli_ledger
    (tmp_path / "garbage.db").write_bytes(b"this is not a SQLite database, not at all\n" * 200)
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "folder.db").mkdir()
    depth = 100_000
    (tmp_path / "deep.toml").write_text(TEMPLATE + "\nx = " + "[" * depth + "]" * depth + "\n")
    return cli


BAD = "\udcff"  # b"\xff" on the command line, as Python's argv decodes it (surrogateescape)

# (label, argv, exit codes allowed, text the one line must contain)
CASES: list[tuple[str, list[str], set[int], str]] = [
    (
        "huge amount",
        ["fund", "deposit", "--amount", "1e308", "--from", "GEM", "--key", "{coop-admin}"],
        {1, 2},
        "1e308",
    ),
    (
        "exponent amount",
        ["fund", "deposit", "--amount", "1e30", "--from", "GEM", "--key", "{coop-admin}"],
        {1, 2},
        "1e30",
    ),
    (
        "huge appraisal",
        ["price", "explain", "--dwelling", "D-1", "--date", "2031-02-01", "--appraisal", "1e308"],
        {1, 2},
        "1e308",
    ),
    (
        "last month",
        ["contribution", "run", "--month", "9999-12", "--key", "{levy-admin}"],
        {1, 2},
        "9999-12",
    ),
    (
        "request id not UTF-8",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--request-id",
            "\udcff",
            "--key",
            "{coop-admin}",
        ],
        {2},
        "UTF-8",
    ),
    (
        "request id too long",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--request-id",
            "r" * 129,
            "--key",
            "{coop-admin}",
        ],
        {2},
        "request id",
    ),
    (
        "request id empty",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--request-id",
            "",
            "--key",
            "{coop-admin}",
        ],
        {2},
        "request id ''",
    ),
    (
        "request id control",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--request-id",
            "a\x1b[2Jb",
            "--key",
            "{coop-admin}",
        ],
        {2},
        "request id 'a\\x1b[2Jb'",
    ),
    (
        "request id space",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--request-id",
            "a b",
            "--key",
            "{coop-admin}",
        ],
        {2},
        "request id 'a b'",
    ),
    ("member id not UTF-8", ["member", "show", BAD], {2}, "UTF-8"),
    ("dwelling not UTF-8", ["dwelling", "show", BAD], {2}, "UTF-8"),
    ("series not UTF-8", ["index", "show", "--series", BAD], {2}, "UTF-8"),
    (
        "district not UTF-8",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--district",
            BAD,
            "--key",
            "{coop-admin}",
        ],
        {2},
        "UTF-8",
    ),
    ("huge seq", ["log", "show", "99999999999999999999"], {2}, "99999999999999999999"),
    ("huge levy sale", ["levy", "explain", "99999999999999999999"], {2}, "99999999999999999999"),
    (
        "huge checkpoint size",
        ["checkpoint", "--size", "99999999999999999999"],
        {2},
        "99999999999999999999",
    ),
    (
        "huge proof size",
        ["proof", "inclusion", "0", "--size", "99999999999999999999"],
        {2},
        "99999999999999999999",
    ),
    (
        "deeply nested charter",
        ["charter", "amend", "deep.toml", "--reason", "x", "--key", "{governor}"],
        {1, 2},
        "deep.toml",
    ),
    (
        "deeply nested charter at init",
        [
            "init",
            "--origin",
            "x.example/y",
            "--charter",
            "deep.toml",
            "--key",
            "{governor}",
            "--db",
            "new.db",
        ],
        {1, 2},
        "deep.toml",
    ),
    ("database is garbage", ["verify", "--db", "garbage.db"], {1}, "garbage.db"),
    ("database is empty", ["verify", "--db", "empty.db"], {1}, "empty.db"),
    ("database is a folder", ["member", "list", "--db", "folder.db"], {1}, "folder.db"),
    (
        "write to garbage",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--key",
            "{coop-admin}",
            "--db",
            "garbage.db",
        ],
        {1},
        "garbage.db",
    ),
    (
        "lock timeout not a number",
        [
            "member",
            "admit",
            "--id",
            "M-9",
            "--kind",
            "person",
            "--name",
            "A",
            "--key",
            "{coop-admin}",
        ],
        {2},
        "COOPLEDGER_LOCK_TIMEOUT",
    ),
]
ENV = {"lock timeout not a number": {"COOPLEDGER_LOCK_TIMEOUT": "soon"}}


@pytest.mark.parametrize(("label", "argv", "codes", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    ledger_cli: Any, tmp_path: Path, label: str, argv: list[str], codes: set[int], names: str
) -> None:
    cli = ledger_cli
    keys = {k: str(v) for k, v in cli.keys.items()}
    db = Path(cli.env["COOPLEDGER_DB"])
    files = {p.name: p.read_bytes() for p in tmp_path.glob("*.db") if p.is_file() and p != db}
    before = _dump(db)
    result = cli(*[a.format(**keys) for a in argv], env=ENV.get(label, {}))
    _one_line_refusal(result, codes, names)
    assert _dump(db) == before
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*.db") if p.is_file() and p != db}
    assert after == files, "a refused command changed a database file it was given"
    assert not (tmp_path / "new.db").exists()


def test_non_utf8_argument_in_a_real_process(tmp_path: Path) -> None:
    """The bytes reach Python as surrogate escapes; the refusal is a usage error (exit 2)."""
    result = subprocess.run(
        [
            sys.executable.encode(),
            b"-m",
            b"cli.main",
            b"member",
            b"show",
            b"\xff",
            b"--db",
            b"x.db",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count(b"\n") == 1 and b"UTF-8" in result.stderr, result.stderr


@pytest.fixture
def full_disk() -> Iterator[None]:
    """Every SQLite connection opened meanwhile may not grow its file: SQLite answers
    SQLITE_FULL ("database or disk is full"), as it does when the disk is full."""

    def limit(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, sqlite3.Connection):
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    sa.event.listen(sa.engine.Engine, "connect", limit)
    try:
        yield
    finally:
        sa.event.remove(sa.engine.Engine, "connect", limit)


def test_full_disk_is_one_line_and_appends_nothing(ledger_cli: Any, full_disk: None) -> None:
    cli = ledger_cli
    db = Path(cli.env["COOPLEDGER_DB"])
    admin = str(cli.keys["coop-admin"])
    for i in range(40):  # the free space left in the file's pages runs out within a few
        before = _dump(db)
        result = cli(
            "member",
            "admit",
            "--id",
            f"M-{i}",
            "--kind",
            "person",
            "--name",
            "n" * 300,
            "--address",
            "a" * 300,
            "--key",
            admin,
        )
        if result.code != 0:
            break
    _one_line_refusal(result, {1}, f"database or disk is full: {db}")
    assert _dump(db) == before


def test_a_receipt_entry_that_is_a_digit_but_not_a_number_is_one_line(ledger_cli: Any) -> None:
    """'²' is a digit to str.isdigit but not to int(): it was an internal error (exit 3)."""
    cli = ledger_cli
    cli.ok("proof", "inclusion", "1", "--out", "receipt.txt")
    vkey = cli.ok("checkpoint", "--vkey").out.strip()
    for entry in ("²", "99999999999999999999"):
        result = cli("verify-receipt", "receipt.txt", "--vkey", vkey, "--entry", entry)
        _one_line_refusal(result, {1}, entry)


def test_a_really_full_disk_says_so(ledger_cli: Any, tmp_path: Path) -> None:
    """A full file system, not a page limit: SQLite fails to grow the WAL index (`-shm`) and
    reports SQLITE_IOERR_SHMSIZE, "disk I/O error"; the user must read that the disk is full.
    Needs a private mount namespace with a 2 MB tmpfs (`unshare -m`, as root); skipped without."""
    import os
    import shutil

    if shutil.which("unshare") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs unshare and root to mount a small tmpfs")
    cli = ledger_cli
    copy = tmp_path / "copy.db"
    source = sqlite3.connect(cli.env["COOPLEDGER_DB"])
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    mnt, out, err, rc = (tmp_path / n for n in ("mnt", "out.txt", "err.txt", "rc.txt"))
    mnt.mkdir()
    script = f"""
set -e
mount -t tmpfs -o size=2m tmpfs {mnt}
cp {copy} {mnt}/ledger.db
avail=$(df -k --output=avail {mnt} | tail -1)
dd if=/dev/zero of={mnt}/filler bs=1k count=$((avail - 8)) 2>/dev/null || true
set +e
{sys.executable} -m cli.main member admit --id M-9 --kind person --name A \\
    --key {cli.keys["coop-admin"]} --db {mnt}/ledger.db > {out} 2> {err}
echo $? > {rc}
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPLEDGER_")}
    env.update({"COOPLEDGER_PASSPHRASE": "test-pass", "COOPLEDGER_LOG_KEY": str(cli.keys["log"])})
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if not rc.exists():
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()[:200]}")
    code, message = int(rc.read_text()), err.read_text()
    assert code == 1, message
    assert message.splitlines() == [f"coopledger: error: database or disk is full: {mnt}/ledger.db"]
