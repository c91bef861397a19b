"""What an insider with the database file does, on SQLite and PostgreSQL: edit rows directly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ledger.encoding import loads, record_bytes
from ledger.storage.store import normalize_target

_TRIGGERS = {
    "sqlite": "DROP TRIGGER IF EXISTS {table}_no_{op}",
    "postgresql": "DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
}


def execute(target: str, statements: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Run statements as the insider would, after dropping the append-only triggers."""
    engine = sa.create_engine(normalize_target(target), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for table in ("entries", "merkle_nodes", "checkpoints"):
                for op in ("update", "delete"):
                    conn.exec_driver_sql(_TRIGGERS[conn.dialect.name].format(table=table, op=op))
            for sql, params in statements:
                conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def query(target: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(normalize_target(target), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params or {})]
    finally:
        engine.dispose()


def dump(target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused command changed nothing."""
    tables = (
        "head",
        "entries",
        "merkle_nodes",
        "checkpoints",
        "requests",
        "projection",
        "member_data",
        "ledger_meta",
    )
    return {t: sorted(query(target, f"SELECT * FROM {t}"), key=repr) for t in tables}


def edit_record(target: str, ns: str, key: str, change: dict[str, Any]) -> bytes:
    """Change fields of one projection record (as canonical JSON, as the writer stores it);
    returns the bytes it held before."""
    [(old,)] = query(
        target, "SELECT value FROM projection WHERE ns = :n AND key = :k", {"n": ns, "k": key}
    )
    record = {**loads(bytes(old)), **change}
    set_record(target, ns, key, record_bytes(record))
    return bytes(old)


def set_record(target: str, ns: str, key: str, value: bytes) -> None:
    execute(
        target,
        [
            (
                "UPDATE projection SET value = :v WHERE ns = :n AND key = :k",
                {"v": value, "n": ns, "k": key},
            )
        ],
    )
