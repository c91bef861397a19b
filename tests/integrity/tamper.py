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
    """Every row of every table (of those the schema has), to show that a refused command
    changed nothing."""
    tables = (
        "head",
        "entries",
        "merkle_nodes",
        "checkpoints",
        "requests",
        "projection",
        "state_nodes",
        "state_namespaces",
        "member_data",
        "ledger_meta",
    )
    engine = sa.create_engine(normalize_target(target), poolclass=sa.pool.NullPool)
    try:
        present = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return {
        t: sorted(query(target, f"SELECT * FROM {t}"), key=repr) for t in tables if t in present
    }


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


def rows_of(target: str, ns: str, key: str) -> list[tuple[Any, ...]]:
    """A projection record's row, every column as stored (to put it back later)."""
    return query(target, "SELECT * FROM projection WHERE ns = :n AND key = :k", {"n": ns, "k": key})


def put_back(target: str, ns: str, key: str, rows: list[tuple[Any, ...]]) -> None:
    """Replace a projection record by an earlier row of it, every column as it was."""
    [row] = rows
    columns = [c for (c,) in _columns(target, "projection")]
    marks = ", ".join(f":c{i}" for i in range(len(columns)))
    execute(
        target,
        [
            ("DELETE FROM projection WHERE ns = :n AND key = :k", {"n": ns, "k": key}),
            (
                f"INSERT INTO projection ({', '.join(columns)}) VALUES ({marks})",
                {f"c{i}": v for i, v in enumerate(row)},
            ),
        ],
    )


def _columns(target: str, table: str) -> list[tuple[Any, ...]]:
    if "://" in target:
        return query(
            target,
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            {"t": table},
        )
    return [(r[1],) for r in query(target, f"PRAGMA table_info({table})")]
