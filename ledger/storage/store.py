"""The store: one SQLite file or PostgreSQL database, one writer at a time, append-only entries."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ledger.encoding import loads
from ledger.errors import ConflictError, IntegrityError, LedgerError, StorageError, UsageError
from ledger.storage import authentication as auth
from ledger.storage.overlay import Overlay
from ledger.storage.trusted import UPSERT_NODE, UPSERT_NS, TrustedState

# The schema version every transaction checks. It is tables.SCHEMA_VERSION, repeated here so
# that a command does not import SQLModel (and the SQLAlchemy ORM under it, some 200 ms)
# just to compare it: the tables are needed only to create the schema
# (docs/decisions/0011-perf-cli-start-up.md; tests/unit/test_fast_paths.py keeps the two equal).
SCHEMA_VERSION = "3"
# Schemas 1 (no authentication) and 2 (per-record MACs) are still read; only
# `coopledger rebuild` writes to them, upgrading them in place
# (docs/decisions/0014-trusted-state.md).
READABLE_VERSIONS = ("1", "2", SCHEMA_VERSION)

DEFAULT_DB = "coopledger.db"
_CHUNK = 5000


def normalize_target(target: str) -> str:
    """A path means SQLite; a postgresql:// URL uses psycopg 3."""
    if target.startswith("postgresql://") or target.startswith("postgres://"):
        return "postgresql+psycopg://" + target.split("://", 1)[1]
    if "://" in target:
        return target
    return "sqlite:///" + os.path.abspath(target)


def sqlite_path(target: str) -> Path | None:
    """The file behind a SQLite target, or None for a server URL."""
    url = normalize_target(target)
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def display_target(target: str) -> str:
    if "://" not in target:
        return target
    return sa.engine.make_url(normalize_target(target)).render_as_string(hide_password=True)


LOCK_TIMEOUT_ENV = "COOPLEDGER_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30.0
_MAX_LOCK_TIMEOUT = 86400.0
_SECONDS_RE = re.compile(r"[0-9]{1,5}(\.[0-9]{1,3})?")


def lock_timeout_from_env() -> float:
    """Seconds a writer waits for the ledger's lock: COOPLEDGER_LOCK_TIMEOUT, else 30."""
    text = os.environ.get(LOCK_TIMEOUT_ENV)
    if text is None:
        return DEFAULT_LOCK_TIMEOUT
    value = float(text) if _SECONDS_RE.fullmatch(text) else 0.0
    if not 0 < value <= _MAX_LOCK_TIMEOUT:
        raise UsageError(
            f"{LOCK_TIMEOUT_ENV} {text!r} must be a number of seconds above 0 and at most 86400"
        )
    return value


def _sqlite_pragmas(busy_ms: int, dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (verify, reports) run beside the writer; synchronous=FULL because a
    # checkpoint we printed must never be lost, or the next one would fork from it.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    # Erased personal data must not survive in free space or a moved cell's old place
    # (docs/decisions/0015-log-key-memory-and-requests.md).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


# Less free space than this under a SQLite file that fails with an I/O error: a full disk
# (a WAL index alone grows in steps of 32 KiB).
_FULL_BELOW = 1 << 20


def _sqlite_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that never writes the file: `mode=ro`, or `immutable=1` when the WAL's
    `-shm` file cannot be created (a read-only medium or folder, where no writer can be)."""
    uri = "file:" + quote(str(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as e:
        conn.close()
        no_shm = e.sqlite_errorname in ("SQLITE_CANTOPEN", "SQLITE_READONLY_DIRECTORY")
        if not no_shm or not path.is_file():
            raise
        conn = sqlite3.connect(
            uri + "&immutable=1", uri=True, timeout=timeout, check_same_thread=False
        )
    return conn


def _with_lock_timeout(url: str, seconds: float) -> sa.engine.URL:
    """The PostgreSQL URL with `-c lock_timeout` added to the connection's options."""
    parsed = sa.engine.make_url(url)
    options = parsed.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    ms = round(seconds * 1000)
    return parsed.update_query_dict({"options": f"{options} -clock_timeout={ms}".strip()})


def _rollback(conn: Connection) -> None:
    """Roll back, unless the database already did (SQLite does on SQLITE_FULL)."""
    dbapi = conn.connection.dbapi_connection
    if isinstance(dbapi, sqlite3.Connection) and not dbapi.in_transaction:
        return
    conn.exec_driver_sql("ROLLBACK")


class Store:
    """Opens transactions; everything a transaction can do lives on ReadTx / WriteTx."""

    def __init__(
        self, target: str, *, create: bool = False, lock_timeout: float | None = None
    ) -> None:
        self.target = target
        self.url = normalize_target(target)
        self.lock_timeout = lock_timeout_from_env() if lock_timeout is None else lock_timeout
        self.path = sqlite_path(target)
        if self.path is not None and not create and not self.path.exists():
            raise StorageError(f"no ledger at {target}: run coopledger init first")
        if self.path is not None and self.path.exists():
            mode = self.path.stat().st_mode
            if stat.S_ISDIR(mode):
                raise StorageError(f"{target} is a folder, not a ledger database")
            if not stat.S_ISREG(mode):
                # A FIFO or a device would block SQLite's open, or feed it endless bytes.
                raise StorageError(f"{target} is not a regular file, so not a ledger database")
        # SQLite keeps its connection between transactions: closing the last connection to a
        # WAL database checkpoints it, a cost each transaction would otherwise pay
        # (docs/decisions/0013-perf-rules-replay.md). PostgreSQL connects per transaction,
        # so a ledger's database can always be dropped once its commands are done.
        pool = sa.pool.QueuePool if self.url.startswith("sqlite") else sa.pool.NullPool
        url: str | sa.engine.URL = self.url
        if self.url.startswith("postgresql"):
            url = _with_lock_timeout(self.url, self.lock_timeout)
        try:
            self.engine: Engine = sa.create_engine(
                url, isolation_level="AUTOCOMMIT", poolclass=pool
            )
        except (sa.exc.ArgumentError, ImportError) as e:
            raise StorageError(f"cannot use database {display_target(target)}: {e}") from e
        self.dialect = self.engine.dialect.name
        self._read_engine: Engine | None = None
        if self.dialect == "sqlite":
            busy_ms = round(self.lock_timeout * 1000)
            event.listen(self.engine, "connect", partial(_sqlite_pragmas, busy_ms))
        elif self.dialect != "postgresql":
            raise StorageError(f"unsupported database {self.dialect}: use SQLite or PostgreSQL")

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    def _reader(self) -> Engine:
        """Reading transactions on a SQLite file open it read-only (a read-only copy, folder
        or medium can be verified); PostgreSQL reads in READ ONLY transactions instead."""
        if self.path is None:
            return self.engine
        if self._read_engine is None:
            path, timeout = self.path, self.lock_timeout
            self._read_engine = sa.create_engine(
                "sqlite://",
                creator=lambda: _sqlite_read_only(path, timeout),
                isolation_level="AUTOCOMMIT",
                poolclass=sa.pool.QueuePool,
            )
        return self._read_engine

    def _connect(self, engine: Engine | None = None) -> Connection:
        try:
            return (engine or self.engine).connect()
        except DBAPIError as e:
            known = self.translate(e, writing=engine is None)
            if known is not None:
                raise known from e
            first = (str(e.orig).strip().splitlines() or [type(e.orig).__name__])[0]
            where = display_target(self.target)
            raise StorageError(f"cannot open database {where}: {first}") from e

    def translate(self, e: DBAPIError, *, writing: bool = True) -> LedgerError | None:
        """A database error a user can cause (full disk, a held lock, a read-only or foreign
        file) as one line naming the database; None for any other error."""
        orig = e.orig
        name = str(getattr(orig, "sqlite_errorname", ""))
        state = str(getattr(orig, "sqlstate", "") or "")
        where = display_target(self.target)
        if (
            name == "SQLITE_FULL"
            or state == "53100"
            or (name.startswith("SQLITE_IOERR") and self._disk_full())
        ):
            return StorageError(f"database or disk is full: {where}")
        if name.startswith("SQLITE_BUSY") or state in ("55P03", "40P01"):
            return ConflictError(
                f"another writer holds the ledger's lock (waited {self.lock_timeout:g} s): {where}"
            )
        if (
            name.startswith("SQLITE_READONLY")
            or state == "25006"
            or (writing and name.startswith("SQLITE_CANTOPEN") and self._unwritable())
        ):
            return StorageError(f"database {where} is read-only")
        if name == "SQLITE_NOTADB":
            return StorageError(f"{where} is not a SQLite database")
        return None

    def reraise(self, e: DBAPIError, *, writing: bool = True) -> NoReturn:
        """Raise the translation of `e` (see translate), or `e` itself."""
        known = self.translate(e, writing=writing)
        if known is None:
            raise e
        raise known from e

    def _disk_full(self) -> bool:
        """SQLite reports a full disk as SQLITE_IOERR where it grows the WAL index (`-shm`,
        SQLITE_IOERR_SHMSIZE) or syncs: the file system's free space tells them apart."""
        path = self.path
        if path is None:
            return False
        try:
            free = os.statvfs(path.parent)
        except OSError:
            return False
        return free.f_bavail * free.f_frsize < _FULL_BELOW

    def _unwritable(self) -> bool:
        path = self.path
        return path is not None and not (
            os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        )

    # -- schema -------------------------------------------------------------------------------

    def is_initialized(self) -> bool:
        with self._connect() as conn:
            return sa.inspect(conn).has_table("head")

    def create_schema(self) -> None:
        """Create the tables, the append-only triggers and the head row (idempotent)."""
        from sqlmodel import SQLModel

        with self._connect() as conn:
            conn.exec_driver_sql("BEGIN")
            try:
                if self.dialect == "postgresql":
                    # Two `init`s at once: the second waits, then finds the schema made.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7120110)")
                # A schema made already (by a concurrent `init`, or an earlier one) is left as
                # it is: recreating its triggers would lock its tables against the writer.
                if not sa.inspect(conn).has_table("head"):
                    SQLModel.metadata.create_all(conn, tables=_tables())
                    for statement in _trigger_sql(self.dialect):
                        conn.exec_driver_sql(statement)
                exists = conn.execute(text("SELECT 1 FROM head WHERE id = 1")).first()
                if exists is None:
                    conn.execute(
                        text("INSERT INTO head (id, size, last_leaf_hash) VALUES (1, 0, :h)"),
                        {"h": bytes(32)},
                    )
                    conn.execute(
                        text("INSERT INTO ledger_meta (key, value) VALUES ('schema_version', :v)"),
                        {"v": SCHEMA_VERSION},
                    )
                conn.exec_driver_sql("COMMIT")
            except DBAPIError as e:
                _rollback(conn)
                self.reraise(e)
            except BaseException:
                _rollback(conn)
                raise

    def scrub(self) -> None:
        """After an erasure commits, leave no old copy of the erased rows in the database files:
        SQLite checkpoints its WAL into the (securely deleted) file and truncates it;
        PostgreSQL vacuums the tables that held them (outside any transaction)."""
        with self._connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                conn.exec_driver_sql("VACUUM member_data")
                conn.exec_driver_sql("VACUUM requests")

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[ReadTx]:
        """A consistent snapshot for reports and verification (readers never block the writer,
        and never need to write: a SQLite file is opened read-only)."""
        conn = self._connect(self._reader())
        try:
            if self.dialect == "postgresql":
                conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            else:
                conn.exec_driver_sql("BEGIN")
            tx = ReadTx(conn, self.dialect)
            tx.check_schema(self.target)
            yield tx
        except DBAPIError as e:
            self.reraise(e, writing=False)
        finally:
            try:
                _rollback(conn)
            finally:
                conn.close()

    @contextmanager
    def writing(self, mac_key: bytes, *, upgrade: bool = False) -> Iterator[WriteTx]:
        """The one write transaction: take the writer lock, yield, flush and commit, or roll back.

        `mac_key` (derived from the log key) authenticates every projection record the
        transaction reads or writes, and the head row. `upgrade` lets `rebuild` open a
        schema-1 or schema-2 database, which it upgrades in the same transaction."""
        conn = self._connect()
        try:
            try:
                if self.dialect == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    conn.exec_driver_sql("BEGIN")
                    conn.exec_driver_sql("SELECT size FROM head WHERE id = 1 FOR UPDATE")
            except DBAPIError as e:
                _rollback(conn)
                raise self.translate(e) or ConflictError(
                    f"cannot take the writer lock: {str(e.orig).strip()}"
                ) from e
            tx = WriteTx(conn, self.dialect, mac_key)
            try:
                tx.check_schema(self.target)
                if tx.schema_version != SCHEMA_VERSION and not upgrade:
                    raise StorageError(
                        f"{display_target(self.target)} has schema version "
                        f"{tx.schema_version}: run coopledger rebuild --log-key FILE to "
                        "upgrade it for writing"
                    )
                yield tx
                tx.flush()
                conn.exec_driver_sql("COMMIT")
            except DBAPIError as e:
                _rollback(conn)
                self.reraise(e)
            except BaseException:
                _rollback(conn)
                raise
        finally:
            conn.close()


def _tables() -> list[Any]:
    from sqlmodel import SQLModel

    from ledger.storage import tables  # noqa: F401 - declares the tables on SQLModel.metadata

    return [
        SQLModel.metadata.tables[name]
        for name in (
            "ledger_meta",
            "head",
            "entries",
            "merkle_nodes",
            "checkpoints",
            "requests",
            "projection",
            "state_nodes",
            "state_namespaces",
            "member_data",
        )
    ]


def _trigger_sql(dialect: str) -> list[str]:
    from ledger.storage import tables

    if dialect == "sqlite":
        out = []
        for table in tables.APPEND_ONLY_TABLES:
            for op in ("UPDATE", "DELETE"):
                out.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
                )
        return out
    out = [
        "CREATE OR REPLACE FUNCTION coopledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '%% is append-only: %% refused', TG_TABLE_NAME, TG_OP; END $$"
    ]
    for table in tables.APPEND_ONLY_TABLES:
        out.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        out.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION coopledger_refuse_change()"
        )
        out.append(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        out.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION coopledger_refuse_change()"
        )
    return out


class Raw:
    """The DBAPI connection under a SQLAlchemy one, for the statements every transaction runs.

    SQLAlchemy's `text()` costs some 30-60 microseconds a statement in compiling, result
    wrapping and type processing; the hot paths here (the head row, projection records,
    Merkle nodes, the batched inserts) need none of it, so they go to the driver's cursor
    on the same connection, inside the same transaction. Statements are written with `?`
    placeholders (sqlite3's qmark style) and turned into `%s` for psycopg. Driver errors
    are wrapped exactly as SQLAlchemy wraps them (docs/decisions/0009-perf-raw-dbapi.md).
    """

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dbapi = conn.connection.dbapi_connection
        self.pg = dialect == "postgresql"
        self._sql: dict[str, str] = {}

    def _prepare(self, sql: str) -> str:
        out = self._sql.get(sql)
        if out is None:
            out = sql.replace("?", "%s") if self.pg else sql
            self._sql[sql] = out
        return out

    def _wrap(self, sql: str, params: Any, e: Exception) -> Exception:
        dbapi = self.conn.dialect.loaded_dbapi
        return DBAPIError.instance(sql, params, e, dbapi.Error)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        assert self.dbapi is not None
        cur = self.dbapi.cursor()
        try:
            cur.execute(self._prepare(sql), params)
            return list(cur.fetchall())
        except self.conn.dialect.loaded_dbapi.Error as e:
            raise self._wrap(sql, params, e) from e
        finally:
            cur.close()

    def first(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        assert self.dbapi is not None
        cur = self.dbapi.cursor()
        try:
            cur.execute(self._prepare(sql), params)
        except self.conn.dialect.loaded_dbapi.Error as e:
            raise self._wrap(sql, params, e) from e
        finally:
            cur.close()

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        assert self.dbapi is not None
        cur = self.dbapi.cursor()
        try:
            cur.executemany(self._prepare(sql), rows)
        except self.conn.dialect.loaded_dbapi.Error as e:
            raise self._wrap(sql, rows, e) from e
        finally:
            cur.close()


class ReadTx:
    """Queries inside one transaction; a WriteTx adds the writes."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.raw = Raw(conn, dialect)
        self.state = DbState(conn, self.raw)
        self.schema_version = SCHEMA_VERSION

    def check_schema(self, target: str) -> None:
        try:
            row = self.raw.first("SELECT value FROM ledger_meta WHERE key = 'schema_version'")
        except (OperationalError, DBAPIError):
            row = None
            self.conn.exec_driver_sql("ROLLBACK")
            self.conn.exec_driver_sql("BEGIN")
        if row is None:
            raise StorageError(
                f"{display_target(target)} is not a coop-ledger database: run coopledger init"
            )
        if row[0] not in READABLE_VERSIONS:
            raise StorageError(
                f"{display_target(target)} has schema version {row[0]}, this program reads "
                f"{' and '.join(READABLE_VERSIONS)}"
            )
        self.schema_version = str(row[0])

    def head(self) -> tuple[int, bytes]:
        row = self.raw.first("SELECT size, last_leaf_hash FROM head WHERE id = 1")
        if row is None:
            raise IntegrityError(
                "the head row is missing: the database was changed outside coop-ledger; "
                "run coopledger verify"
            )
        return int(row[0]), bytes(row[1])

    def authentication(self) -> tuple[int, bytes, bytes | None, bytes | None]:
        """The head row with its state digest and MAC (schema 2)."""
        row = self.raw.first(
            "SELECT size, last_leaf_hash, state_digest, mac FROM head WHERE id = 1"
        )
        if row is None:
            raise sa.exc.NoResultFound("No row was found when one was required")
        digest, mac = (None if v is None else bytes(v) for v in row[2:])
        return int(row[0]), bytes(row[1]), digest, mac

    def projection_rows(self) -> Iterator[tuple[str, str, bytes, int | None]]:
        """Every projection record with its bucket (schema 3; None before), in key order, in
        chunks."""
        bucket = "bucket" if self.schema_version == SCHEMA_VERSION else "NULL"
        query = (
            f"SELECT ns, key, value, {bucket} FROM projection WHERE ns > ? OR (ns = ? AND key > ?) "
            "ORDER BY ns, key LIMIT 5000"
        )
        after = ("", "")
        while True:
            rows = self.raw.rows(query, (after[0], after[0], after[1]))
            for ns, key, value, b in rows:
                yield str(ns), str(key), bytes(value), None if b is None else int(b)
            if len(rows) < 5000:
                return
            after = (str(rows[-1][0]), str(rows[-1][1]))

    def state_commitment(self) -> tuple[dict[int, bytes], dict[str, tuple[bytes, int]]]:
        """The stored state tree nodes and namespace digests (schema 3)."""
        nodes = {
            int(n): bytes(c) for n, c in self.raw.rows("SELECT node, children FROM state_nodes")
        }
        namespaces = {
            str(ns): (bytes(d), int(c))
            for ns, d, c in self.raw.rows("SELECT ns, digest, count FROM state_namespaces")
        }
        return nodes, namespaces

    def entry_index(
        self, start: int, stop: int
    ) -> Iterator[tuple[int, tuple[Any, ...], bytes, bytes]]:
        """Each entry's index columns (kind, key_id, effective, recorded_at, request_id),
        its stored leaf hash and its data, in sequence order, in chunks."""
        query = (
            "SELECT seq, kind, key_id, effective, recorded_at, request_id, leaf_hash, data "
            "FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq"
        )
        low = start
        while low < stop:
            high = min(stop, low + _CHUNK)
            for row in self.raw.rows(query, (low, high)):
                yield int(row[0]), tuple(row[1:6]), bytes(row[6]), bytes(row[7])
            low = high

    def nodes_at(self, level: int, low: int, high: int) -> dict[int, bytes]:
        """Stored Merkle nodes of one level with low <= idx < high."""
        rows = self.raw.rows(
            "SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ?",
            (level, low, high),
        )
        return {int(i): bytes(h) for i, h in rows}

    def nodes_above(self, level: int) -> dict[tuple[int, int], bytes]:
        rows = self.raw.rows("SELECT level, idx, hash FROM merkle_nodes WHERE level > ?", (level,))
        return {(int(lv), int(i)): bytes(h) for lv, i, h in rows}

    def count_nodes(self) -> int:
        row = self.raw.first("SELECT COUNT(*) FROM merkle_nodes")
        return 0 if row is None else int(row[0])

    def member_data_rows(self) -> Iterator[tuple[str, bytes | None, str | None, int | None]]:
        for member_id, salt, data, erased in self.conn.execute(
            text("SELECT member_id, salt, data, erased_seq FROM member_data ORDER BY member_id")
        ):
            yield (
                str(member_id),
                None if salt is None else bytes(salt),
                data,
                None if erased is None else int(erased),
            )

    def entry(self, seq: int) -> bytes | None:
        row = self.raw.first("SELECT data FROM entries WHERE seq = ?", (seq,))
        return None if row is None else bytes(row[0])

    def entries(
        self, start: int = 0, stop: int | None = None, kinds: Sequence[str] | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """Leaf bytes in sequence order, fetched in chunks so memory stays flat."""
        if stop is None:
            stop = self.head()[0]
        kind_filter = ""
        params: dict[str, Any] = {}
        if kinds:
            names = [f"k{i}" for i in range(len(kinds))]
            kind_filter = f" AND kind IN ({', '.join('?' for _ in names)})"
            params.update(dict(zip(names, kinds, strict=True)))
        query = (
            f"SELECT seq, data FROM entries WHERE seq >= ? AND seq < ?{kind_filter} ORDER BY seq"
        )
        low = start
        while low < stop:
            high = min(stop, low + _CHUNK)
            for seq, data in self.raw.rows(query, (low, high, *params.values())):
                yield int(seq), bytes(data)
            low = high

    def entry_rows(self, start: int, stop: int) -> Iterator[tuple[int, str, bytes]]:
        query = text(
            "SELECT seq, kind, data FROM entries WHERE seq >= :a AND seq < :b ORDER BY seq"
        )
        for seq, kind, data in self.conn.execute(query, {"a": start, "b": stop}):
            yield int(seq), str(kind), bytes(data)

    def get_nodes(self, coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        wanted = list(dict.fromkeys(coords))
        for i in range(0, len(wanted), 200):
            part = wanted[i : i + 200]
            clauses = " OR ".join(["(level = ? AND idx = ?)"] * len(part))
            params = [v for coord in part for v in coord]
            rows = self.raw.rows(
                f"SELECT level, idx, hash FROM merkle_nodes WHERE {clauses}", params
            )
            for level, idx, digest in rows:
                out[(int(level), int(idx))] = bytes(digest)
        return out

    def checkpoint(self, size: int | None = None) -> tuple[int, bytes, str] | None:
        if size is None:
            row = self.raw.first(
                "SELECT size, root_hash, note FROM checkpoints ORDER BY size DESC LIMIT 1"
            )
        else:
            row = self.raw.first(
                "SELECT size, root_hash, note FROM checkpoints WHERE size = ?", (size,)
            )
        return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))

    def checkpoints(self) -> Iterator[tuple[int, bytes, str]]:
        for size, root, note in self.conn.execute(
            text("SELECT size, root_hash, note FROM checkpoints ORDER BY size")
        ):
            yield int(size), bytes(root), str(note)

    def signed_sizes_around(self, size: int) -> tuple[int | None, int | None]:
        """The largest signed tree size below `size` and the smallest above it (two index
        lookups on the primary key, not a scan of the checkpoints)."""
        below = self.conn.execute(
            text("SELECT MAX(size) FROM checkpoints WHERE size < :s"), {"s": size}
        ).scalar()
        above = self.conn.execute(
            text("SELECT MIN(size) FROM checkpoints WHERE size > :s"), {"s": size}
        ).scalar()
        return (None if below is None else int(below), None if above is None else int(above))

    def request(self, request_id: str) -> Mapping[str, Any] | None:
        row = self.raw.first(
            "SELECT request_id, content_hash, first_seq, last_seq, checkpoint_size "
            "FROM requests WHERE request_id = ?",
            (request_id,),
        )
        if row is None:
            return None
        names = ("request_id", "content_hash", "first_seq", "last_seq", "checkpoint_size")
        return dict(zip(names, row, strict=True))

    def request_carrier(self, request_id: str) -> int | None:
        """The first entry whose request id column holds `request_id`, if any."""
        row = self.raw.first(
            "SELECT seq FROM entries WHERE request_id = ? ORDER BY seq LIMIT 1", (request_id,)
        )
        return None if row is None else int(row[0])

    def member_data(self, member_id: str) -> tuple[bytes | None, str | None, int | None] | None:
        row = self.conn.execute(
            text("SELECT salt, data, erased_seq FROM member_data WHERE member_id = :m"),
            {"m": member_id},
        ).first()
        if row is None:
            return None
        return (None if row[0] is None else bytes(row[0]), row[1], row[2])

    def count_kinds(self) -> dict[str, int]:
        rows = self.conn.execute(text("SELECT kind, COUNT(*) FROM entries GROUP BY kind"))
        return {str(k): int(n) for k, n in rows}

    def seqs_of_kind(self, kind: str, start: int = 0) -> list[int]:
        rows = self.conn.execute(
            text("SELECT seq FROM entries WHERE kind = :k AND seq >= :s ORDER BY seq"),
            {"k": kind, "s": start},
        )
        return [int(r[0]) for r in rows]


class WriteTx(ReadTx):
    """Writes collected during one append and sent in a few statements at the end. The head
    row's MAC is checked before anything is decided, and every projection record read is
    proved against the state root it covers (docs/decisions/0014-trusted-state.md)."""

    state: TrustedState  # type: ignore[assignment]

    def __init__(self, conn: Connection, dialect: str, mac_key: bytes) -> None:
        super().__init__(conn, dialect)
        self.mac_key = mac_key
        self.state = TrustedState(self.raw, mac_key)
        self._entries: list[dict[str, Any]] = []
        self._nodes: list[dict[str, Any]] = []

    def unverified_state(self) -> DbState:
        """The projection read without MACs: only to tell a wrong log key from a changed
        database before the first authenticated read."""
        return DbState(self.conn, self.raw)

    def check_head(self) -> None:
        """Refuse a head row whose MAC fails, then load and prove the top of the state
        commitment it covers. A fresh database has no MAC yet and starts from the empty state."""
        size, last, root, mac = self.authentication()
        if mac is None and size == 0 and root is None:
            self.state.start(None, fresh=True)
            return
        if root is None or not auth.same(mac, auth.head_mac(self.mac_key, size, last, root)):
            raise IntegrityError(
                "the head row fails its authentication: the database was changed outside "
                "coop-ledger; run coopledger rebuild"
            )
        self.state.start(root, fresh=False)

    def upgrade_schema(self) -> None:
        """Schema 1 or 2 to 3: the bucket column, the state tables, the head's root and MAC
        columns; per-record MACs (schema 2) are dropped. Rebuild then fills them in."""
        from sqlmodel import SQLModel

        from ledger.storage import tables  # noqa: F401 - declares the tables

        blob = "BYTEA" if self.dialect == "postgresql" else "BLOB"
        if self.schema_version == "1":
            for column in ("state_digest", "mac"):
                self.raw.run(f"ALTER TABLE head ADD COLUMN {column} {blob}")
        else:
            self.raw.run("ALTER TABLE projection DROP COLUMN mac")
        self.raw.run("ALTER TABLE projection ADD COLUMN bucket INTEGER")
        self.raw.run("CREATE INDEX ix_projection_bucket ON projection (bucket)")
        SQLModel.metadata.create_all(
            self.conn,
            tables=[SQLModel.metadata.tables[n] for n in ("state_nodes", "state_namespaces")],
        )
        self.set_meta("schema_version", SCHEMA_VERSION)
        self.schema_version = SCHEMA_VERSION

    def replace_projection(self, records: Mapping[tuple[str, str], bytes]) -> tuple[int, int, int]:
        """Make the projection exactly `records`, each in its bucket, and the state commitment
        theirs; returns how many records were added, changed and removed."""
        stored = {(ns, key): (value, b) for ns, key, value, b in self.projection_rows()}
        removed = [k for k in stored if k not in records]
        upserts = []
        for (ns, key), value in records.items():
            bucket = auth.bucket_of(ns, key)
            if stored.get((ns, key)) != (value, bucket):
                upserts.append((ns, key, value, bucket))
        if removed:
            self.raw.many("DELETE FROM projection WHERE ns = ? AND key = ?", removed)
        if upserts:
            self.raw.many(_UPSERT, upserts)
        made = auth.commitment(self.mac_key, ((ns, k, v) for (ns, k), v in records.items()))
        # Only the rows that differ are written, so a rebuild of a sound database changes
        # nothing in it.
        nodes, namespaces = self.state_commitment()
        want_nodes = {auth.TOP: made.top} | {auth.node_of(p): c for p, c in made.pages.items()}
        want_ns = {ns: (d.as_bytes(), d.count) for ns, d in made.namespaces.items()}
        stale_nodes = [(n,) for n in nodes if n not in want_nodes]
        stale_ns = [(ns,) for ns in namespaces if ns not in want_ns]
        if stale_nodes:
            self.raw.many("DELETE FROM state_nodes WHERE node = ?", stale_nodes)
        if stale_ns:
            self.raw.many("DELETE FROM state_namespaces WHERE ns = ?", stale_ns)
        node_rows = [(n, c) for n, c in sorted(want_nodes.items()) if nodes.get(n) != c]
        ns_rows = [
            (ns, d, c) for ns, (d, c) in sorted(want_ns.items()) if namespaces.get(ns) != (d, c)
        ]
        if node_rows:
            self.raw.many(UPSERT_NODE, node_rows)
        if ns_rows:
            self.raw.many(UPSERT_NS, ns_rows)
        self.state = TrustedState(self.raw, self.mac_key)
        self.state.start(made.root, fresh=False)
        added = sum(1 for k in records if k not in stored)
        changed = sum(1 for k in records if k in stored and stored[k][0] != records[k])
        return added, changed, len(removed)

    def add_entry(self, row: dict[str, Any]) -> None:
        self._entries.append(row)

    def add_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        self._nodes.extend({"l": lv, "i": ix, "h": h} for lv, ix, h in nodes)

    def pending_nodes(self) -> dict[tuple[int, int], bytes]:
        return {(n["l"], n["i"]): n["h"] for n in self._nodes}

    def set_head(self, size: int, last_leaf_hash: bytes) -> None:
        self.raw.run(
            "UPDATE head SET size = ?, last_leaf_hash = ? WHERE id = 1", (size, last_leaf_hash)
        )

    def add_checkpoint(self, size: int, root_hash: bytes, note: str) -> None:
        self.raw.run(
            "INSERT INTO checkpoints (size, root_hash, note) VALUES (?, ?, ?)",
            (size, root_hash, note),
        )

    def add_request(
        self, request_id: str, content_hash: str, first: int, last: int, checkpoint_size: int
    ) -> None:
        self.conn.execute(
            text(
                "INSERT INTO requests (request_id, content_hash, first_seq, last_seq, checkpoint_size) "
                "VALUES (:r, :c, :f, :l, :k)"
            ),
            {"r": request_id, "c": content_hash, "f": first, "l": last, "k": checkpoint_size},
        )

    def put_member_data(self, member_id: str, salt: bytes, data: str) -> None:
        self.raw.run(
            "INSERT INTO member_data (member_id, salt, data, erased_seq) VALUES (?, ?, ?, NULL)",
            (member_id, salt, data),
        )

    def erase_member_data(self, member_id: str, seq: int) -> None:
        self.conn.execute(
            text(
                "UPDATE member_data SET salt = NULL, data = NULL, erased_seq = :q WHERE member_id = :m"
            ),
            {"m": member_id, "q": seq},
        )

    def mark_requests(self, seq: int, content_hash: str) -> None:
        """Replace the content hash of every request whose entries include `seq`."""
        self.raw.run(
            "UPDATE requests SET content_hash = ? WHERE first_seq <= ? AND last_seq >= ?",
            (content_hash, seq, seq),
        )

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            text(
                "INSERT INTO ledger_meta (key, value) VALUES (:k, :v) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"k": key, "v": value},
        )

    def flush(self) -> None:
        if self._entries:
            self.raw.many(
                "INSERT INTO entries (seq, kind, key_id, effective, recorded_at, request_id, "
                "leaf_hash, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r["seq"],
                        r["kind"],
                        r["key_id"],
                        r["effective"],
                        r["recorded_at"],
                        r["request_id"],
                        r["leaf_hash"],
                        r["data"],
                    )
                    for r in self._entries
                ],
            )
            self._entries = []
        if self._nodes:
            self.raw.many(
                "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
                [(n["l"], n["i"], n["h"]) for n in self._nodes],
            )
            self._nodes = []
        self.state.flush()
        if self.state.root is not None:
            size, last = self.head()
            self.raw.run(
                "UPDATE head SET state_digest = ?, mac = ? WHERE id = 1",
                (self.state.root, auth.head_mac(self.mac_key, size, last, self.state.root)),
            )


_UPSERT = (
    "INSERT INTO projection (ns, key, value, bucket) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, bucket = excluded.bucket"
)


class DbState(Overlay):
    """The projection table as readers see it (reports, verify, a dry run): records read by
    key or namespace, unauthenticated (readers hold no log key; `verify` is what tells an
    auditor whether to believe the table), with an uncommitted overlay for a dry run's puts,
    which are never written."""

    def __init__(self, conn: Connection, raw: Raw | None = None) -> None:
        self.conn = conn
        self.raw = raw if raw is not None else Raw(conn, conn.dialect.name)
        super().__init__()

    def get(self, ns: str, key: str) -> Any:
        raw = self.get_raw(ns, key)
        return None if raw is None else loads(raw)

    def get_raw(self, ns: str, key: str) -> bytes | None:
        """The record's canonical bytes, unparsed (a cache key for derived objects)."""
        k = (ns, key)
        if k not in self._cache:
            row = self.raw.first("SELECT value FROM projection WHERE ns = ? AND key = ?", (ns, key))
            self._cache[k] = None if row is None else bytes(row[0])
        return self._cache[k]

    def scan(self, ns: str) -> Iterator[tuple[str, Any]]:
        stored = {
            str(k): bytes(v)
            for k, v in self.raw.rows("SELECT key, value FROM projection WHERE ns = ?", (ns,))
        }
        return self._merged(ns, stored)

    def snapshot(self) -> dict[tuple[str, str], bytes]:
        """Every stored record (the overlay left out)."""
        return {
            (str(n), str(k)): bytes(v)
            for n, k, v in self.raw.rows("SELECT ns, key, value FROM projection")
        }
