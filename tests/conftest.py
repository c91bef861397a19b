"""Shared fixtures: deterministic keys and clock, SQLite and PostgreSQL stores, a founded ledger, the CLI."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ledger.charter import TEMPLATE, Charter, parse_charter
from ledger.command import Command
from ledger.keys import Signer, generate
from ledger.service import Ledger, Receipt, genesis
from ledger.storage.store import Store

PG_ENV = "COOPLEDGER_TEST_PG_URL"
ORIGIN = "test.example/coop"


class Clock:
    """A clock that ticks one second per call, from a fixed start: tests are exact."""

    def __init__(self, start: datetime = datetime(2031, 1, 1, 9, tzinfo=timezone.utc)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(scope="session")
def signers() -> dict[str, Signer]:
    out = {role: generate(f"test-{role}") for role in ("governor", "coop-admin", "werk-admin", "levy-admin")}
    out["log"] = generate(ORIGIN)
    out["stranger"] = generate("stranger")
    return out


# -- PostgreSQL: one database per test run, one schema per test --------------------------------


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
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


@dataclass
class Founded:
    """A founded ledger with every administrator's key authorised."""

    store: Store
    ledger: Ledger
    signers: dict[str, Signer]
    clock: Clock
    target: str

    def append(self, role: str, commands: list[Command], request_id: str | None = None) -> Receipt:
        return self.ledger.append(commands, self.signers[role], self.signers["log"], request_id)


def found_ledger(target: str, signers: dict[str, Signer], charter: Charter | None = None) -> Founded:
    from ledger.rules.governance import authorize_key

    store = Store(target, create=True)
    store.create_schema()
    clock = Clock()
    ledger = Ledger(store, clock=clock)
    gov, log = signers["governor"], signers["log"]
    ledger.found(genesis(ORIGIN, charter or parse_charter(TEMPLATE), gov, log, date(2031, 1, 1)), gov, log)
    grants = [
        authorize_key(signers[r].name, signers[r].public_key, (r,))  # type: ignore[arg-type]
        for r in ("coop-admin", "werk-admin", "levy-admin")
    ]
    ledger.append(grants, gov, log)
    return Founded(store, ledger, signers, clock, target)


@pytest.fixture
def founded(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    f = found_ledger(str(tmp_path / "ledger.db"), signers)
    yield f
    f.store.dispose()


@pytest.fixture
def founded_any(store_target: str, signers: dict[str, Signer]) -> Iterator[Founded]:
    """A founded ledger on each backend."""
    f = found_ledger(store_target, signers)
    yield f
    f.store.dispose()


# -- the CLI, in process -------------------------------------------------------------------------


@dataclass
class CliResult:
    code: int
    out: str
    err: str


class CliRunner:
    """Runs `coopledger ARGS` in process through the real entry point (main), capturing
    output and the exit code, with a clean environment of our own variables."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.env = {"COOPLEDGER_PASSPHRASE": "test-pass", **(env or {})}

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
        from click.testing import CliRunner as ClickRunner

        from cli.main import main

        runner = ClickRunner()
        full_env = {k: None for k in os.environ if k.startswith("COOPLEDGER_") and k != PG_ENV}
        full_env.update(self.env)
        full_env.update(env or {})
        old = os.getcwd()
        os.chdir(self.cwd)
        try:
            with runner.isolation(input=input, env=full_env) as (out, err, _):  # type: ignore[misc]
                code = 0
                try:
                    main(list(args))
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                sys.stdout.flush()
                sys.stderr.flush()
                return CliResult(code, out.getvalue().decode(), err.getvalue().decode())
        finally:
            os.chdir(old)

    def ok(self, *args: str, **kw: Any) -> CliResult:
        result = self(*args, **kw)
        assert result.code == 0, f"coopledger {' '.join(args)} -> {result.code}\n{result.out}\n{result.err}"
        return result


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(tmp_path)


@pytest.fixture
def cli_ledger(tmp_path: Path, cli: CliRunner) -> Callable[..., Any]:
    """A ledger founded through the CLI, with key files for every role; returns the runner
    with COOPLEDGER_DB, COOPLEDGER_LOG_KEY set and a `keys` dict of role -> key file."""
    cli.ok("charter", "template")
    (tmp_path / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    keys: dict[str, Path] = {}
    for role in ("governor", "coop-admin", "werk-admin", "levy-admin"):
        keys[role] = tmp_path / f"{role}.key"
        cli.ok("key", "new", "--name", f"cli-{role}", "--out", str(keys[role]))
    keys["log"] = tmp_path / "log.key"
    cli.ok("key", "new", "--name", ORIGIN, "--out", str(keys["log"]))
    cli.env.update({"COOPLEDGER_DB": str(tmp_path / "ledger.db"), "COOPLEDGER_LOG_KEY": str(keys["log"])})
    cli.ok("init", "--origin", ORIGIN, "--charter", "charter.toml", "--key", str(keys["governor"]), "--date", "2031-01-01")
    for role in ("coop-admin", "werk-admin", "levy-admin"):
        vkey = cli.ok("key", "show", str(keys[role]), "--vkey").out.strip()
        cli.ok("key", "authorize", vkey, "--role", role, "--key", str(keys["governor"]))
    cli.keys = keys  # type: ignore[attr-defined]
    return cli  # type: ignore[return-value]
