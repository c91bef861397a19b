"""Helpers for the insider tests: an office ledger with key files, and raw edits with the triggers dropped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ledger.keys import Signer, write_key_file
from ledger.log_adopt import adopt
from ledger.log_memory import LogMemory
from ledger.rules import members
from ledger.rules.members import PersonalData
from ledger.storage.store import normalize_target
from tests.support import ORIGIN, CliRunner, Founded, found_ledger

PASSPHRASE = "test-pass"
ADMITTED = date(2031, 2, 1)


def admissions(first: int, last: int, name: str = "Member") -> list[Any]:
    """Admit M-first..M-last with fixed salts, so two ledgers fed the same calls hold the same bytes."""
    return [
        members.admit(
            f"M-{n}",
            "person",
            PersonalData(name=f"{name} {n}"),
            ADMITTED,
            salt=n.to_bytes(32, "big"),
        )
        for n in range(first, last + 1)
    ]


def grown_ledger(target: str, signers: dict[str, Signer], size: int) -> Founded:
    """A founded ledger (4 entries: genesis, three grants) grown by admissions to `size` entries."""
    f = found_ledger(target, signers)
    f.append("coop-admin", admissions(4, size - 1))
    return f


@dataclass
class Office:
    """The office's ledger, driven through the CLI with key files (so the log key's memory lives
    beside log.key), plus the library handle the tests use to set the scene."""

    cli: CliRunner
    founded: Founded
    target: str
    keys: dict[str, Path]

    def admit(self, member_id: str, name: str, *extra: str) -> Any:
        return self.cli(
            "member", "admit", "--id", member_id, "--kind", "person", "--name", name,
            "--date", ADMITTED.isoformat(), "--key", str(self.keys["coop-admin"]), *extra,
        )  # fmt: skip


def office(
    tmp_path: Path, target: str, signers: dict[str, Signer], size: int, remember: bool = True
) -> Office:
    """A ledger of `size` entries made through the library, with key files written for the CLI;
    the log key's memory beside log.key adopts its last checkpoint (as the office would run
    `coopledger log adopt --size SIZE` once), unless `remember` is False."""
    founded = grown_ledger(target, signers, size)
    keys = {}
    for role in ("coop-admin", "log"):
        keys[role] = tmp_path / f"{role}.key"
        write_key_file(keys[role], signers[role], PASSPHRASE.encode())
    if remember:
        adopt(founded.store, signers["log"], LogMemory.beside(keys["log"], env={}), size)
    cli = CliRunner(tmp_path, {"COOPLEDGER_DB": target, "COOPLEDGER_LOG_KEY": str(keys["log"])})
    return Office(cli, founded, target, keys)


@contextmanager
def insider(target: str) -> Iterator[sa.Connection]:
    """A raw connection to the database with the append-only triggers dropped, as someone who
    can write the database file (or holds the database owner's password) would do it."""
    engine = sa.create_engine(normalize_target(target), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for name, table in _triggers(conn):
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
                else:
                    conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")
            yield conn
    finally:
        engine.dispose()


def _triggers(conn: sa.Connection) -> list[tuple[str, str]]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
        )
    else:
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT trigger_name, event_object_table FROM information_schema.triggers "
            "WHERE trigger_schema = current_schema()"
        )
    return [(str(n), str(t)) for n, t in rows]


def covering(seq: int, size: int) -> list[tuple[int, int]]:
    """The stored Merkle nodes (level, idx) that cover leaf `seq` in a tree of `size` leaves."""
    out = []
    level = 0
    while ((seq >> level) + 1) << level <= size:
        out.append((level, seq >> level))
        level += 1
    return out


def run(conn: sa.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """One statement written with `?` placeholders, on either backend."""
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    result = conn.exec_driver_sql(sql, tuple(params))
    return [tuple(r) for r in result] if result.returns_rows else []


def rows(target: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(normalize_target(target), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return run(conn, sql, params)
    finally:
        engine.dispose()


def backup(target: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row of every table (whatever the schema version holds): an old copy of the
    database, on either backend."""
    engine = sa.create_engine(normalize_target(target), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            copy = {}
            for table in sorted(sa.inspect(conn).get_table_names()):
                result = conn.exec_driver_sql(f"SELECT * FROM {table}")
                copy[table] = (list(result.keys()), [tuple(r) for r in result])
            return copy
    finally:
        engine.dispose()


def restore(target: str, copy: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
    """Put an old copy back, as an insider restoring a backup over the live database would."""
    with insider(target) as conn:
        for table, (columns, values) in copy.items():
            run(conn, f"DELETE FROM {table}")
            marks = ", ".join("?" for _ in columns)
            for value in values:
                run(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", value)


def sizes(target: str) -> tuple[int, int, int]:
    """(entries, head size, largest checkpoint size)."""
    (count,) = rows(target, "SELECT COUNT(*) FROM entries")[0]
    (head,) = rows(target, "SELECT size FROM head")[0]
    (latest,) = rows(target, "SELECT MAX(size) FROM checkpoints")[0]
    return int(count), int(head), int(latest)


__all__ = [
    "ORIGIN",
    "Office",
    "admissions",
    "backup",
    "covering",
    "insider",
    "office",
    "restore",
    "rows",
    "run",
    "sizes",
]
