"""The levy, area contributions and the GEM's files end to end through `coopledger`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def publish_cpi(cli: Any, values: dict[str, str]) -> None:
    for month, value in values.items():
        cli.ok(
            "index",
            "publish",
            "--series",
            "CPI",
            "--month",
            month,
            "--value",
            value,
            "--source",
            "CBS (test)",
            "--key",
            str(cli.keys["coop-admin"]),
        )


def seq_of(result: Any) -> int:
    return int(json.loads(result.out)["entries"][0]["seq"])


@pytest.fixture
def levy_ledger(cli_ledger: Any) -> Any:
    """Three properties, two sales in Q1 and one in Q2 of 2032, payments, a waiver and a
    contribution run; returns the runner with the sale seqs in `sales`."""
    cli = cli_ledger
    admin = ("--key", str(cli.keys["levy-admin"]))
    publish_cpi(
        cli, {"2031-05": "100.0", "2032-02": "125.0", "2032-03": "125.0", "2032-05": "130.0"}
    )
    for pid, kind, district in (
        ("P-1", "home", "Pampus-Haven"),
        ("P-2", "home", "Pampus-Centrum"),
        ("P-3", "commercial", "Pampus-Haven"),
    ):
        cli.ok(
            "property",
            "register",
            "--id",
            pid,
            "--kind",
            kind,
            "--district",
            district,
            "--delivered",
            "2031-05-01",
            "--baseline",
            "400000",
            "--index",
            "CPI",
            "--date",
            "2031-04-01",
            *admin,
        )
    sales = {}
    sales["P-1"] = seq_of(
        cli.ok(
            "property",
            "sell",
            "--id",
            "P-1",
            "--date",
            "2032-02-14",
            "--price",
            "560000",
            "--improvements",
            "15000",
            "--deed",
            "deed-1",
            "--json",
            *admin,
        )
    )
    sales["P-3"] = seq_of(
        cli.ok(
            "property",
            "sell",
            "--id",
            "P-3",
            "--date",
            "2032-03-01",
            "--price",
            "450000",
            "--deed",
            "deed-3",
            "--json",
            *admin,
        )
    )
    sales["P-2"] = seq_of(
        cli.ok(
            "property",
            "sell",
            "--id",
            "P-2",
            "--date",
            "2032-05-10",
            "--price",
            "540000",
            "--appraisal",
            "560000",
            "--deed",
            "deed-2",
            "--json",
            *admin,
        )
    )
    cli.ok(
        "levy",
        "pay",
        "--sale",
        str(sales["P-1"]),
        "--amount",
        "10000",
        "--date",
        "2032-02-20",
        "--ref",
        "notary-1",
        *admin,
    )
    cli.ok(
        "levy",
        "pay",
        "--sale",
        str(sales["P-2"]),
        "--amount",
        "10000",
        "--date",
        "2032-05-31",
        "--ref",
        "notary-2",
        *admin,
    )
    cli.ok(
        "levy",
        "waive",
        "--sale",
        str(sales["P-1"]),
        "--amount",
        "500",
        "--reason",
        "hardship",
        "--date",
        "2032-04-02",
        "--key",
        str(cli.keys["governor"]),
    )
    for pid in ("P-1", "P-2"):  # charter version 2: every charge names its debtor
        cli.ok("contribution", "debtor", "--subject", pid, "--debtor", f"OWNER-{pid}",
               "--date", "2031-05-01", *admin)  # fmt: skip
    cli.ok("contribution", "run", "--month", "2032-01", "--date", "2032-01-05", *admin)
    cli.ok(
        "contribution",
        "pay",
        "--subject",
        "P-1",
        "--amount",
        "10",
        "--date",
        "2032-01-20",
        "--ref",
        "bank-1",
        *admin,
    )
    cli.sales = sales
    return cli


def test_levy_story_end_to_end(levy_ledger: Any, tmp_path: Path) -> None:
    cli = levy_ledger
    admin = ("--key", str(cli.keys["levy-admin"]))
    sales = cli.sales

    # The levy explained line by line, and the DOMAIN.md numbers recorded.
    out = cli.ok("levy", "explain", str(sales["P-1"])).out
    assert "E = V_base × I(sale) / I(base) = 400000.00 × 125 / 100 = 500000" in out
    assert "levy charged: 13500.00" in out
    body = json.loads(cli.ok("levy", "explain", str(sales["P-1"]), "--json").out)["body"]
    assert (body["levy"]["expected_cents"], body["levy"]["extra_cents"]) == (50_000_000, 4_500_000)

    # A dry run explains and appends nothing.
    before = json.loads(cli.ok("log", "--json").out)[-1]["seq"]
    dry = cli.ok(
        "property",
        "sell",
        "--id",
        "P-1",
        "--date",
        "2032-03-01",
        "--price",
        "600000",
        "--deed",
        "deed-x",
        "--dry-run",
        *admin,
    ).out
    assert "L = rate × X" in dry and "dry run: nothing was appended" in dry
    assert json.loads(cli.ok("log", "--json").out)[-1]["seq"] == before

    # Overpayment refused with the values; the register shows what is left.
    refused = cli(
        "levy",
        "pay",
        "--sale",
        str(sales["P-1"]),
        "--amount",
        "3000.01",
        "--date",
        "2032-06-01",
        "--ref",
        "x",
        *admin,
    )
    assert refused.code == 1
    assert "payment 3000.01 is more than the outstanding 3000.00" in refused.err
    rows = json.loads(cli.ok("levy", "register", "--outstanding", "--json").out)
    assert {r["property_id"]: r["outstanding_cents"] for r in rows} == {
        "P-1": 3_000_00,
        "P-2": 12_000_00 - 10_000_00,
    }
    assert "P-3" not in cli.ok("levy", "register", "--outstanding").out

    # Running a month again charges nothing and names the original entry.
    again = cli.ok("contribution", "run", "--month", "2032-01", "--date", "2032-02-01", *admin)
    assert "already charged at entry" in again.out and "nothing was appended" in again.out
    arrears = json.loads(cli.ok("contribution", "arrears", "--json").out)
    assert [(r["subject"], r["month"], r["due_cents"]) for r in arrears] == [
        ("P-2", "2032-01", 10_00)
    ]

    # The GEM files for both quarters, verified against the database and a bundle.
    cli.ok("gem", "export", "--period", "2032-Q1", "--out", "q1")
    cli.ok("gem", "export", "--period", "2032-Q2", "--out", "q2", "--format", "csv")
    totals = json.loads((tmp_path / "q1" / "totals.json").read_text())["rows"]
    haven = next(r for r in totals if r["row_id"] == "total-2032-Q1-Pampus-Haven-home")
    assert (haven["sales"], haven["levy_assessed_cents"], haven["levy_paid_cents"]) == (
        1,
        13_500_00,
        10_000_00,
    )
    assert (tmp_path / "q2" / "levy.csv").read_text().count("\n") == 4  # header + 3 rows
    assert not (tmp_path / "q2" / "levy.json").exists()
    assert "OK" in cli.ok("gem", "verify", "q1").out
    cli.ok("bundle", "export", "bundle")
    vkey = cli.ok("key", "show", str(cli.keys["log"]), "--vkey").out.strip()
    assert "OK" in cli.ok("gem", "verify", "q2", "--bundle", "bundle", "--trust", vkey).out
    assert "OK" in cli.ok("verify").out


def test_a_corrected_payment_and_sale_reach_the_gem_files(levy_ledger: Any) -> None:
    """A payment that bounced and a sale recorded in error, corrected by the governor in the
    third quarter: the register follows, and the Q3 files carry the reversals."""
    cli = levy_ledger
    governor = ("--key", str(cli.keys["governor"]))
    sale = cli.sales["P-2"]
    # P-2's payment is the second levy.paid of the story (P-1's came first).
    payment = [
        e["seq"] for e in json.loads(cli.ok("log", "--json").out) if e["kind"] == "levy.paid"
    ][1]
    refused = cli("correct", str(sale), "--reason", "wrong deed", "--date", "2032-07-01", *governor)
    assert refused.code == 1
    assert f"payments or waivers in force (entries {payment}); correct those first" in refused.err
    cli.ok(
        "correct", str(payment), "--reason", "payment bounced", "--date", "2032-07-01", *governor
    )
    cli.ok("correct", str(sale), "--reason", "wrong deed", "--date", "2032-07-02", *governor)
    rows = {r["property_id"]: r for r in json.loads(cli.ok("levy", "register", "--json").out)}
    assert (rows["P-2"]["outstanding_cents"], rows["P-2"]["paid_cents"]) == (0, 0)
    assert rows["P-2"]["corrected_seq"] is not None
    assert "corrected at" in cli.ok("levy", "register").out

    # The reversals count on the dates of what they reverse: a re-export of the second
    # quarter shows them beside the originals, under new row ids.
    cli.ok("gem", "export", "--period", "2032-Q2", "--out", "q2-again")
    levy_rows = json.loads((cli.cwd / "q2-again" / "levy.json").read_text())["rows"]
    assert [
        (r["movement"], r["date"], r["amount_cents"], r["ref"])
        for r in levy_rows
        if r["sale_seq"] == sale
    ] == [
        ("assessed", "2032-05-10", 12_000_00, "deed-2"),
        ("paid", "2032-05-31", 10_000_00, "notary-2"),
        ("paid-reversed", "2032-05-31", 10_000_00, "payment bounced"),
        ("assessed-reversed", "2032-05-10", 12_000_00, "wrong deed"),
    ]
    totals = json.loads((cli.cwd / "q2-again" / "totals.json").read_text())["rows"]
    p2 = next(r for r in totals if r["sales_reversed"])
    assert (p2["levy_assessed_cents"], p2["levy_assessed_reversed_cents"]) == (12_000_00,) * 2
    assert (p2["levy_paid_cents"], p2["levy_paid_reversed_cents"]) == (10_000_00,) * 2
    assert p2["levy_outstanding_cents"] == 0
    cli.ok("gem", "export", "--period", "2032-Q3", "--out", "q3")
    assert json.loads((cli.cwd / "q3" / "levy.json").read_text())["rows"] == []
    assert "OK" in cli.ok("gem", "verify", "q3").out
    assert "OK" in cli.ok("verify").out


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            "levy.csv",
            "13500.00",
            "13400.00",
            "levy.csv: row levy-{P-1}: amount_eur is '13400.00', the ledger gives '13500.00'",
            id="one amount in a CSV file",
        ),
        pytest.param(
            "levy.json",
            '"amount_cents": 1350000',
            '"amount_cents": 1340000',
            "levy.json: row levy-{P-1}: amount_cents is 1340000, the ledger gives 1350000",
            id="one amount in a JSON file",
        ),
        pytest.param(
            "totals.csv",
            ",13500.00,",
            ",13499.99,",
            "totals.csv: row total-2032-Q1-Pampus-Haven-home: levy_assessed_eur is "
            "'13499.99', the ledger gives '13500.00'",
            id="a total",
        ),
    ],
)
def test_a_tampered_export_fails_naming_file_and_row(
    levy_ledger: Any, tmp_path: Path, file: str, old: str, new: str, expected: str
) -> None:
    cli = levy_ledger
    cli.ok("gem", "export", "--period", "2032-Q1", "--out", "q1")
    path = tmp_path / "q1" / file
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))
    result = cli("gem", "verify", "q1")
    assert result.code == 1
    assert expected.format(**{"P-1": cli.sales["P-1"]}) in result.out
    assert f"{file}: SHA-256 differs from the manifest" in result.out
    assert "FAILED" in result.out
    cli.ok("bundle", "export", "bundle")
    vkey = cli.ok("key", "show", str(cli.keys["log"]), "--vkey").out.strip()
    offline = cli("gem", "verify", "q1", "--bundle", "bundle", "--trust", vkey)
    assert offline.code == 1
    assert expected.format(**{"P-1": cli.sales["P-1"]}) in offline.out


def test_a_manifest_not_signed_by_the_log_key_fails(levy_ledger: Any, tmp_path: Path) -> None:
    cli = levy_ledger
    cli.ok("gem", "export", "--period", "2032", "--out", "y")
    manifest = tmp_path / "y" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["period_end"] = "2032-12-30"
    manifest.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    result = cli("gem", "verify", "y")
    assert result.code == 1
    assert "manifest.json: signature does not verify with the log key" in result.out
    assert "manifest.json: period_end is '2032-12-30', the ledger gives '2032-12-31'" in result.out


def test_export_needs_the_ledgers_log_key_and_a_fresh_directory(levy_ledger: Any) -> None:
    cli = levy_ledger
    wrong = cli(
        "gem", "export", "--period", "2032-01", "--out", "m", "--log-key", str(cli.keys["governor"])
    )
    assert wrong.code == 1 and "is not this ledger's log key" in wrong.err
    cli.ok("gem", "export", "--period", "2032-01", "--out", "m")
    again = cli("gem", "export", "--period", "2032-01", "--out", "m")
    assert again.code == 1 and "already holds a GEM export" in again.err
    bad = cli("gem", "export", "--period", "2032-13", "--out", "n")
    assert bad.code == 2 and "period '2032-13' is not a year, quarter or month" in bad.err


def test_user_mistakes_are_one_line_errors(levy_ledger: Any) -> None:
    cli = levy_ledger
    admin = ("--key", str(cli.keys["levy-admin"]))
    cases = [
        (
            (
                "property",
                "sell",
                "--id",
                "P-9",
                "--date",
                "2032-06-01",
                "--price",
                "1",
                "--deed",
                "d",
            ),
            "unknown property P-9",
        ),
        (
            (
                "property",
                "sell",
                "--id",
                "P-1",
                "--date",
                "2032-07-01",
                "--price",
                "12.345",
                "--deed",
                "d",
            ),
            "--price '12.345' has more than two decimals",
        ),
        (
            (
                "property",
                "sell",
                "--id",
                "P-1",
                "--date",
                "2032-07-01",
                "--price",
                "600000",
                "--deed",
                "d",
            ),
            "index CPI has no published value for 2032-07",
        ),
        (
            ("levy", "pay", "--sale", "0", "--amount", "1", "--date", "2032-06-01", "--ref", "r"),
            "no property sale at entry 0",
        ),
        (
            ("levy", "pay", "--sale", "0", "--amount", "0", "--date", "2032-06-01", "--ref", "r"),
            "--amount '0' must be more than 0",
        ),
        (("contribution", "run", "--month", "2032-1"), "--month '2032-1' is not a month (YYYY-MM)"),
        (
            (
                "contribution",
                "pay",
                "--subject",
                "P-1",
                "--member",
                "M-1",
                "--amount",
                "1",
                "--date",
                "2032-06-01",
                "--ref",
                "r",
            ),
            "either a subject or a member",
        ),
    ]
    usage = ("--price '12.345'", "--amount '0'", "--month '2032-1'")  # malformed option values
    for args, message in cases:
        result = cli(*args, *admin)
        assert result.code == (2 if message.startswith(usage) else 1), (
            args,
            result.out,
            result.err,
        )
        assert message in result.err, (args, result.err)
        assert result.err.count("\n") == 1, result.err
    waiver = cli("levy", "waive", "--sale", str(cli.sales["P-2"]), "--reason", "x", *admin)
    assert waiver.code == 1 and "needs role governor" in waiver.err


def test_the_levy_register_and_the_arrears_at_a_date(levy_ledger: Any) -> None:
    """`--at D`: the position at the end of D, from the entries dated by then (issue 12 point 1)."""
    cli = levy_ledger
    admin = ("--key", str(cli.keys["levy-admin"]))

    def levy_at(at: str) -> dict[str, tuple[int, int, int, int]]:
        rows = json.loads(cli.ok("levy", "register", "--at", at, "--json").out)
        return {
            r["property_id"]: (
                r["assessed_cents"],
                r["paid_cents"],
                r["waived_cents"],
                r["outstanding_cents"],
            )
            for r in rows
        }

    assert levy_at("2032-02-13") == {}
    assert levy_at("2032-02-19") == {"P-1": (13_500_00, 0, 0, 13_500_00)}
    # The waiver (dated 2032-04-02) was recorded after P-2's sale and payment (May).
    assert levy_at("2032-04-02")["P-1"] == (13_500_00, 10_000_00, 500_00, 3_000_00)
    assert "P-2" not in levy_at("2032-05-09")
    text = cli.ok("levy", "register", "--at", "2032-02-19").out
    assert "1 sales, outstanding at the end of 2032-02-19 13500.00" in text

    def arrears_at(at: str) -> list[tuple[str, str, int]]:
        rows = json.loads(cli.ok("contribution", "arrears", "--at", at, "--json").out)
        return [(r["subject"], r["month"], r["due_cents"]) for r in rows]

    assert arrears_at("2032-01-04") == []
    assert arrears_at("2032-01-05") == [("P-1", "2032-01", 10_00), ("P-2", "2032-01", 10_00)]
    assert arrears_at("2032-01-20") == [("P-2", "2032-01", 10_00)]
    out = cli.ok("contribution", "arrears", "--at", "2032-01-05").out
    assert "2 open charges, 20.00 due at the end of 2032-01-05" in out

    # Charter version 2: a payment dated before the charge it pays is refused.
    cli.ok("contribution", "run", "--month", "2032-02", "--date", "2032-02-20", *admin)
    early = cli("contribution", "pay", "--subject", "P-2", "--month", "2032-02", "--amount", "10",
                "--date", "2032-02-10", "--ref", "early", *admin)  # fmt: skip
    assert early.code == 1
    assert (
        "the charge for 2032-02 is dated 2032-02-20, after the payment on 2032-02-10" in early.err
    )
    assert "Traceback" not in early.err and early.err.count("\n") == 1

    for args in (("levy", "register"), ("contribution", "arrears")):
        bad = cli(*args, "--at", "2032-13-01")
        assert bad.code == 2 and "2032-13-01" in bad.err and "Traceback" not in bad.err
    assert "OK" in cli.ok("verify").out
