"""The area contribution of charter version 2 through the CLI: every home and every workplace,
each charge naming its debtor, paid by the debtor, exported to the GEM with the debtor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.test_werk_cli import _refused


def test_every_home_and_every_workplace_pays_naming_its_debtor(
    cli_ledger: Any, tmp_path: Path
) -> None:
    cli = cli_ledger
    admin = ("--key", str(cli.keys["levy-admin"]))
    coop = ("--key", str(cli.keys["coop-admin"]))
    cli.ok(
        "member", "admit", "--id", "B-1", "--kind", "business", "--name", "Firm", "--founded",
        "2030-01-01", "--district", "Pampus-Haven", "--date", "2031-02-01", *coop,
    )  # fmt: skip
    cli.ok("member", "admit", "--id", "H-1", "--kind", "household", "--name", "Fam", *coop)
    cli.ok(
        "property", "register", "--id", "P-1", "--kind", "home", "--district", "Pampus-Haven",
        "--delivered", "2031-05-01", "--baseline", "400000", "--date", "2031-04-01", *admin,
    )  # fmt: skip

    # A home without a debtor refuses the run; a household cannot register workplaces.
    run = ("contribution", "run", "--month", "2032-01", "--date", "2032-02-01", *admin)
    _refused(cli, *run, message="home P-1 has no debtor named on or before 2032-01-31")
    workplaces = ("contribution", "workplaces", "--district", "Pampus-Haven", *admin)
    _refused(
        cli, *workplaces, "--member", "H-1", "--count", "2", "--date", "2031-06-01",
        message="expected a business",
    )  # fmt: skip
    _refused(
        cli, *workplaces, "--member", "B-1", "--count", "x", "--date", "2031-06-01",
        message="'x'", code=2,
    )  # fmt: skip
    _refused(
        cli, "contribution", "debtor", "--subject", "P-1", "--date", "2031-05-01", *admin,
        message="--debtor", code=2,
    )  # fmt: skip

    out = cli.ok(*workplaces, "--member", "B-1", "--count", "4", "--date", "2031-06-01").out
    assert "B-1: 4 workplaces in Pampus-Haven from 2031-06-01" in out
    out = cli.ok(
        "contribution", "debtor", "--subject", "P-1", "--debtor", "OWNER-1", "--date",
        "2031-05-01", *admin,
    ).out  # fmt: skip
    assert "home P-1: contribution owed by OWNER-1 from 2031-05-01" in out

    charged = json.loads(cli.ok(*run, "--json").out)
    assert charged["entries"][0]["kind"] == "contribution.charged"
    arrears = json.loads(cli.ok("contribution", "arrears", "--json").out)
    assert [(r["subject"], r["subject_kind"], r["member"], r["due_cents"]) for r in arrears] == [
        ("B-1", "workplace", "B-1", 40_00),
        ("P-1", "home", "OWNER-1", 10_00),
    ]
    cli.ok(
        "contribution", "pay", "--member", "OWNER-1", "--amount", "10", "--date", "2032-02-03",
        "--ref", "bank-1", *admin,
    )  # fmt: skip

    cli.ok("gem", "export", "--period", "2032-Q1", "--out", "q1")
    rows = json.loads((cli.cwd / "q1" / "contributions.json").read_text())["rows"]
    assert [(r["movement"], r["subject"], r["property_kind"], r["debtor"]) for r in rows] == [
        ("charged", "B-1", "workplace", "B-1"),
        ("charged", "P-1", "home", "OWNER-1"),
        ("paid", "P-1", "home", "OWNER-1"),
    ]
    assert json.loads((cli.cwd / "q1" / "manifest.json").read_text())["format"] == (
        "coop-ledger-gem/v3"
    )
    assert "OK" in cli.ok("gem", "verify", "q1").out
    assert "OK" in cli.ok("verify").out
