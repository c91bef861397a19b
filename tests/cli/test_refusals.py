"""Every refused command: one line naming the problem, non-zero exit, no traceback, ledger unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import sqlite_dump


@pytest.fixture
def story(cli_ledger, tmp_path: Path):  # type: ignore[no-untyped-def]
    cli = cli_ledger
    admin = str(cli.keys["coop-admin"])
    cli.ok("member", "admit", "--id", "M-1", "--kind", "person", "--name", "Ans", "--key", admin)
    (tmp_path / "bad-charter.toml").write_text("version = 1\n[cooperative]\nname = 'x'\n")
    (tmp_path / "not-toml.toml").write_text("this is = = not toml\n")
    return cli


def _args(cli, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [*extra]


CASES = [
    (
        "unknown member",
        ["member", "forget", "M-404", "--key", "{coop-admin}"],
        "unknown member M-404",
        {},
    ),
    (
        "duplicate member",
        [
            "member",
            "admit",
            "--id",
            "M-1",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "{coop-admin}",
        ],
        "M-1 is already admitted",
        {},
    ),
    (
        "bad option value",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "alien",
            "--name",
            "B",
            "--key",
            "{coop-admin}",
        ],
        "alien",
        {},
    ),
    (
        "bad date",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--date",
            "2031-13-01",
            "--key",
            "{coop-admin}",
        ],
        "2031-13-01",
        {},
    ),
    (
        "bad member id",
        [
            "member",
            "admit",
            "--id",
            "M 2",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "{coop-admin}",
        ],
        "M 2",
        {},
    ),
    (
        "wrong passphrase",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "{coop-admin}",
        ],
        "wrong passphrase",
        {"COOPLEDGER_PASSPHRASE": "nope"},
    ),
    (
        "wrong role",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "{werk-admin}",
        ],
        "needs role coop-admin",
        {},
    ),
    (
        "missing key",
        ["member", "admit", "--id", "M-2", "--kind", "person", "--name", "B"],
        "--key is required",
        {},
    ),
    (
        "key file missing",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "nowhere.key",
        ],
        "nowhere.key",
        {},
    ),
    (
        "malformed charter",
        ["charter", "amend", "bad-charter.toml", "--reason", "x", "--key", "{governor}"],
        "districts",
        {},
    ),
    (
        "charter not TOML",
        ["charter", "amend", "not-toml.toml", "--reason", "x", "--key", "{governor}"],
        "not valid TOML",
        {},
    ),
    (
        "unknown key id",
        ["key", "revoke", "deadbeefdead", "--reason", "x", "--key", "{governor}"],
        "unknown key deadbeefdead",
        {},
    ),
    (
        "malformed vkey",
        ["key", "authorize", "not-a-vkey", "--role", "coop-admin", "--key", "{governor}"],
        "not-a-vkey",
        {},
    ),
    (
        "wrong log key",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "{coop-admin}",
        ],
        "not this ledger's log key",
        {"COOPLEDGER_LOG_KEY": "{coop-admin}"},
    ),
    ("no such entry", ["log", "show", "999"], "no entry 999", {}),
    (
        "unsigned size",
        ["checkpoint", "--size", "99"],
        "no checkpoint was signed at tree size 99",
        {},
    ),
    ("no database", ["member", "list", "--db", "missing.db"], "no ledger at missing.db", {}),
    ("verify bundle without trust", ["verify", "--bundle", "."], "--trust", {}),
]


@pytest.mark.parametrize(("label", "argv", "message", "env"), CASES, ids=[c[0] for c in CASES])
def test_refused_command_changes_nothing(
    story, label: str, argv: list[str], message: str, env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    cli = story
    db = Path(cli.env["COOPLEDGER_DB"])
    keys = {k: str(v) for k, v in cli.keys.items()}
    argv = [a.format(**keys) for a in argv]
    env = {k: v.format(**keys) for k, v in env.items()}
    before = sqlite_dump(db)
    result = cli(*argv, env=env)
    assert result.code != 0, result.out
    err_lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(err_lines) == 1 or (result.code == 2 and "Traceback" not in result.err), result.err
    assert "Traceback" not in result.err + result.out
    assert message in result.err, result.err
    assert sqlite_dump(db) == before


def test_revoked_key_is_refused_through_the_cli(story) -> None:  # type: ignore[no-untyped-def]
    cli = story
    admin_id = cli.ok("key", "show", str(cli.keys["coop-admin"]), "--json").out
    import json

    key_id = json.loads(admin_id)["key_id"]
    cli.ok("key", "revoke", key_id[:12], "--reason", "left", "--key", str(cli.keys["governor"]))
    db = Path(cli.env["COOPLEDGER_DB"])
    before = sqlite_dump(db)
    result = cli(
        "member",
        "admit",
        "--id",
        "M-3",
        "--kind",
        "person",
        "--name",
        "C",
        "--key",
        str(cli.keys["coop-admin"]),
    )
    assert result.code == 1 and "revoked at entry" in result.err
    assert sqlite_dump(db) == before
    assert "OK" in cli.ok("verify").out


def test_failed_init_leaves_no_database(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ledger.charter import TEMPLATE

    (tmp_path / "charter.toml").write_text(TEMPLATE)
    cli.ok("key", "new", "--name", "gov", "--out", "gov.key")
    cli.ok("key", "new", "--name", "other.example/log", "--out", "log.key")
    result = cli(
        "init",
        "--origin",
        "test.example/coop",
        "--charter",
        "charter.toml",
        "--key",
        "gov.key",
        "--log-key",
        "log.key",
        "--db",
        "new.db",
    )
    assert result.code == 1 and "must be named after the origin" in result.err
    assert not (tmp_path / "new.db").exists()
