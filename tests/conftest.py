"""Shared fixtures: deterministic keys and clock, SQLite and PostgreSQL stores, a founded ledger, the CLI."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ledger import note
from ledger.keys import Signer, generate
from ledger.rules import members
from ledger.rules.members import PersonalData
from tests.support import (
    ORIGIN,
    PG_ENV,
    CliRunner,
    Founded,
    charter_v1,
    found_ledger,
    found_through_cli,
)


@pytest.fixture(scope="session")
def signers() -> dict[str, Signer]:
    out = {
        role: generate(f"test-{role}")
        for role in ("governor", "coop-admin", "werk-admin", "levy-admin")
    }
    out["log"] = generate(ORIGIN)
    out["stranger"] = generate("stranger")
    return out


# -- PostgreSQL: one database per test run, one schema per test --------------------------------


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    import psycopg

    name = f"coopledger_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield base
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_schema_url(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return base + "?options=" + quote(f"-csearch_path={schema}"), schema


def drop_pg_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database target on each backend (the storage contract runs on both)."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
        return
    base = request.getfixturevalue("pg_database")
    url, schema = pg_schema_url(base)
    try:
        yield url
    finally:
        drop_pg_schema(base, schema)


@pytest.fixture
def founded(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    f = found_ledger(str(tmp_path / "ledger.db"), signers)
    yield f
    f.store.dispose()


@pytest.fixture
def founded_v1(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    """A ledger founded under a version-1 charter: the rules edition before issue 12."""
    f = found_ledger(str(tmp_path / "ledger-v1.db"), signers, charter_v1())
    yield f
    f.store.dispose()


@pytest.fixture
def founded_any(store_target: str, signers: dict[str, Signer]) -> Iterator[Founded]:
    """A founded ledger on each backend."""
    f = found_ledger(store_target, signers)
    yield f
    f.store.dispose()


# -- the CLI, in process -------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(tmp_path)


@pytest.fixture
def cli_ledger(tmp_path: Path, cli: CliRunner) -> Callable[..., Any]:
    """A ledger founded through the CLI, with key files for every role; returns the runner
    with COOPLEDGER_DB, COOPLEDGER_LOG_KEY set and a `keys` dict of role -> key file."""
    cli.ok("charter", "template")
    keys = found_through_cli(cli, tmp_path, str(tmp_path / "ledger.db"))
    cli.keys = keys  # type: ignore[attr-defined]
    return cli  # type: ignore[return-value]


@pytest.fixture(scope="module")
def log_data(tmp_path_factory: pytest.TempPathFactory, signers):  # type: ignore[no-untyped-def]
    """A ledger of 14 entries over 6 transactions: its leaves, checkpoints and trusted key."""
    f = found_ledger(str(tmp_path_factory.mktemp("small-log") / "l.db"), signers)
    for batch in (["M-1"], ["M-2", "M-3", "M-4"], ["M-5"], ["M-6", "M-7", "M-8", "M-9"]):
        f.append(
            "coop-admin",
            [members.admit(m, "person", PersonalData(name=m), date(2031, 2, 1)) for m in batch],
        )
    f.append("coop-admin", [members.forget("M-3", date(2031, 3, 1))])
    with f.store.reading() as tx:
        leaves = [d for _, d in tx.entries()]
        checkpoints = [(s, text) for s, _, text in tx.checkpoints()]
    f.store.dispose()
    log = signers["log"]
    return leaves, checkpoints, note.Verifier.from_public_key(log.name, log.public_key)
