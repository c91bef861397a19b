"""Defect 12 (last sentence) and 9: a writer waits for the ledger's lock only so long
(COOPLEDGER_LOCK_TIMEOUT), then fails with one line; two concurrent `init`s on PostgreSQL
give one ledger and one refusal."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ledger.charter import TEMPLATE
from ledger.keys import Signer, write_key_file
from tests.support import ORIGIN, CliRunner, found_ledger

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def holding_the_lock(target: str) -> Iterator[None]:
    """Another writer in the middle of its transaction, holding the ledger's lock."""
    if "://" not in target:
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg

    with psycopg.connect(target) as pg:
        pg.execute("SELECT size FROM head WHERE id = 1 FOR UPDATE")
        yield
        pg.rollback()


def _keys(tmp_path: Path, signers: dict[str, Signer]) -> dict[str, str]:
    out = {}
    for role in ("coop-admin", "log", "governor"):
        path = tmp_path / f"{role}.key"
        write_key_file(path, signers[role], b"test-pass")
        out[role] = str(path)
    return out


def test_a_writer_behind_a_held_lock_gives_up_with_one_line(
    store_target: str, signers: dict[str, Signer], tmp_path: Path
) -> None:
    founded = found_ledger(store_target, signers)
    founded.store.dispose()
    keys = _keys(tmp_path, signers)
    cli = CliRunner(tmp_path, {"COOPLEDGER_LOCK_TIMEOUT": "1", "COOPLEDGER_LOG_KEY": keys["log"]})
    cli.ok("log", "adopt", "--size", "4", "--db", store_target)  # a library-founded ledger
    argv = ["member", "admit", "--id", "M-1", "--kind", "person", "--name", "A"]
    with holding_the_lock(store_target):
        started = time.monotonic()
        result = cli(*argv, "--key", keys["coop-admin"], "--db", store_target)
        waited = time.monotonic() - started
    assert result.code == 1, result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(
        "coopledger: error: another writer holds the ledger's lock (waited 1 s): "
    ), result.err
    assert 0.9 <= waited < 20
    cli.ok(*argv, "--key", keys["coop-admin"], "--db", store_target)  # once the lock is free


@pytest.mark.parametrize("value", ["0", "-1", "soon", "1e3", "86401", "nan"])
def test_a_bad_lock_timeout_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = CliRunner(tmp_path, {"COOPLEDGER_LOCK_TIMEOUT": value})("member", "list")
    assert result.code == 2, result.err
    assert result.err == (
        f"coopledger: error: COOPLEDGER_LOCK_TIMEOUT {value!r} must be a number of seconds "
        "above 0 and at most 86400\n"
    )


@pytest.mark.postgres
def test_two_concurrent_inits_make_one_ledger_and_one_refusal(
    pg_database: str, signers: dict[str, Signer], tmp_path: Path
) -> None:
    from tests.conftest import drop_pg_schema, pg_schema_url

    keys = _keys(tmp_path, signers)
    (tmp_path / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    env: dict[str, Any] = {"COOPLEDGER_PASSPHRASE": "test-pass", "PATH": "/usr/bin:/bin"}
    for round_ in range(3):
        url, schema = pg_schema_url(pg_database)
        # Each round founds a new ledger: its log key starts with no memory of a checkpoint.
        env["COOPLEDGER_LOG_STATE"] = str(tmp_path / f"log-memory-{round_}")
        try:
            argv = [
                sys.executable,
                "-m",
                "cli.main",
                "init",
                "--origin",
                ORIGIN,
                "--charter",
                str(tmp_path / "charter.toml"),
                "--key",
                keys["governor"],
                "--log-key",
                keys["log"],
                "--date",
                "2031-01-01",
                "--db",
                url,
            ]
            procs = [
                subprocess.Popen(
                    argv,
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
            codes = sorted(code for code, _ in results)
            assert codes == [0, 1], results
            refusal = next(err for code, err in results if code == 1)
            # The loser finds the ledger founded, or the log key's memory already holding the
            # winner's checkpoint 1: either way one line, and nothing of its own written.
            assert len(refusal.splitlines()) == 1, refusal
            assert "already holds" in refusal or "already signed checkpoint 1" in refusal, refusal
            result = CliRunner(tmp_path)("verify", "--db", url)
            assert result.code == 0, result.err
        finally:
            drop_pg_schema(pg_database, schema)
