"""Test helpers shared by every layer: a deterministic clock, founded ledgers, the CLI in process."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.charter import TEMPLATE, Charter, parse_charter
from ledger.command import Command
from ledger.keys import Signer
from ledger.service import Ledger, Receipt, genesis
from ledger.storage.store import Store

PG_ENV = "COOPLEDGER_TEST_PG_URL"
ORIGIN = "test.example/coop"


class Clock:
    """A clock that ticks one second per call, from a fixed start: tests are exact."""

    def __init__(self, start: datetime = datetime(2031, 1, 1, 9, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


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

    def papers(self, on: date, buyer: str | None = None) -> dict[str, Any]:
        """What a share transfer carries under the charter in force: under edition 2 the
        notarial deed and, for a sale, the buyer's self-occupation declaration; nothing under
        a version-1 charter (which refuses them)."""
        from ledger.state import charter_at

        with self.store.reading() as tx:
            _, charter = charter_at(tx.state)
        if not charter.rules_from(2):
            return {}
        deed = {"deed": f"deed-{buyer or 'back'}-{on.isoformat()}"}
        if buyer is None:
            return deed
        return {**deed, "declared_on": on, "declaration": f"declaration-{buyer}"}


def charter_v1(charter: Charter | None = None) -> Charter:
    """A version-1 charter (rules edition 1, decision 0016): the given charter (the template by
    default) without the edition-2 parameters, with the levy index default of version 1."""
    from ledger.charter import (
        DEFAULT_LEVY_INDEX,
        EDITION_2_PARAMETERS,
        EDITION_2_TABLES,
        charter_from_dict,
    )

    data = (charter or parse_charter(TEMPLATE)).model_dump(mode="json")
    data["version"] = 1
    for table, names in EDITION_2_PARAMETERS.items():
        for name in names:
            data[table].pop(name, None)
    if data["levy"]["default_index"] == DEFAULT_LEVY_INDEX:
        data["levy"]["default_index"] = "CPI"
    for table in EDITION_2_TABLES:
        data.pop(table, None)
    return charter_from_dict(data)


# Library-level ledgers are founded early enough for every story's dates: an entry dated by
# its command may not be before the genesis (issue 11).
GENESIS = date(2020, 1, 1)


def found_ledger(
    target: str, signers: dict[str, Signer], charter: Charter | None = None
) -> Founded:
    from ledger.rules.governance import authorize_key

    store = Store(target, create=True)
    store.create_schema()
    clock = Clock()
    ledger = Ledger(store, clock=clock)
    gov, log = signers["governor"], signers["log"]
    ledger.found(genesis(ORIGIN, charter or parse_charter(TEMPLATE), gov, log, GENESIS), gov, log)
    grants = [
        authorize_key(signers[r].name, signers[r].public_key, (r,))  # type: ignore[arg-type]
        for r in ("coop-admin", "werk-admin", "levy-admin")
    ]
    ledger.append(grants, gov, log)
    return Founded(store, ledger, signers, clock, target)


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

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> CliResult:
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
        assert result.code == 0, (
            f"coopledger {' '.join(args)} -> {result.code}\n{result.out}\n{result.err}"
        )
        return result


def sqlite_dump(db: Path) -> list[str]:
    """Every row of a SQLite ledger as SQL text: compared before and after a refused command."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def found_through_cli(
    cli: CliRunner,
    home: Path,
    db: str,
    roles: tuple[str, ...] = ("coop-admin", "werk-admin", "levy-admin"),
) -> dict[str, Path]:
    """Found a ledger at `db` through the CLI the way an office would: key files for every role
    and the log key in `home`, `init` with the charter template, the administrators in `roles`
    authorised. Sets COOPLEDGER_DB and COOPLEDGER_LOG_KEY on the runner; returns role -> key."""
    (home / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    keys: dict[str, Path] = {}
    for role in ("governor", "coop-admin", "werk-admin", "levy-admin"):
        keys[role] = home / f"{role}.key"
        cli.ok("key", "new", "--name", f"cli-{role}", "--out", str(keys[role]))
    keys["log"] = home / "log.key"
    cli.ok("key", "new", "--name", ORIGIN, "--out", str(keys["log"]))
    cli.env.update({"COOPLEDGER_DB": db, "COOPLEDGER_LOG_KEY": str(keys["log"])})
    governor = str(keys["governor"])
    cli.ok("init", "--origin", ORIGIN, "--charter", "charter.toml", "--key", governor,
           "--date", "2031-01-01")  # fmt: skip
    for role in roles:
        vkey = cli.ok("key", "show", str(keys[role]), "--vkey").out.strip()
        cli.ok("key", "authorize", vkey, "--role", role, "--key", governor)
    return keys
