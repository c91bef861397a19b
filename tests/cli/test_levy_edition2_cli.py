"""The levy of edition 2 through `coopledger`: disposals that are not sales, exempt transfers,
the keep policy's credit, the house-price index by default, and the help that says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import sqlite_dump

INDEX = {"2031-05": "100.0", "2035-06": "125.0", "2040-06": "150.0"}


def _ledger(cli: Any) -> tuple[str, ...]:
    """Publish the house-price index and register P-1 without naming an index."""
    for month, value in INDEX.items():
        cli.ok(
            "index", "publish", "--series", "HPI-ALMERE", "--month", month, "--value", value,
            "--source", "CBS/Kadaster (test)", "--key", str(cli.keys["coop-admin"]),
        )  # fmt: skip
    admin = ("--key", str(cli.keys["levy-admin"]))
    cli.ok(
        "property", "register", "--id", "P-1", "--kind", "home", "--district", "Pampus-Haven",
        "--delivered", "2031-05-01", "--baseline", "400000", "--date", "2031-04-01", *admin,
    )  # fmt: skip
    return admin


def _sell(cli: Any, admin: tuple[str, ...], day: str, *extra: str) -> dict[str, Any]:
    result = cli.ok(
        "property", "sell", "--id", "P-1", "--date", day, "--deed", f"deed-{day}", "--json",
        *extra, *admin,
    )  # fmt: skip
    seq = int(json.loads(result.out)["entries"][0]["seq"])
    return json.loads(cli.ok("levy", "explain", str(seq), "--json").out)  # type: ignore[no-any-return]


def test_gift_inheritance_and_sale_end_to_end(cli_ledger: Any) -> None:
    cli = cli_ledger
    admin = _ledger(cli)
    gift = _sell(
        cli, admin, "2035-06-01", "--price", "0", "--disposal", "gift", "--appraisal", "545000"
    )
    assert gift["body"]["disposal"] == "gift"
    assert gift["body"]["levy"]["index_series"] == "HPI-ALMERE"  # the charter's default
    assert gift["explanation"][0].startswith("gift of P-1 (home, Pampus-Haven) on 2035-06-01")
    assert gift["explanation"][-1] == "levy charged: 13500.00"
    heirs = _sell(cli, admin, "2038-01-10", "--price", "0", "--disposal", "inheritance")
    assert heirs["body"]["levy"]["exemption"] == "inheritance"
    assert "exempt (inheritance): no levy (L = 0.00), the baseline is kept" in heirs["explanation"]
    sale = _sell(cli, admin, "2040-06-01", "--price", "700000")
    assert sale["body"]["disposal"] == "sale"
    assert sale["body"]["levy"]["baseline_cents"] == 545_000_00  # kept through the inheritance
    assert sale["explanation"][-1] == "levy charged: 13800.00"
    cli.ok("verify")


def test_keep_credit_in_the_explanation(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    charter = tmp_path / "keep.toml"
    text = cli.ok("charter", "template").out.replace(
        'baseline_policy = "reset-on-sale"', 'baseline_policy = "keep"'
    )
    charter.write_text(text, encoding="utf-8")
    cli.ok(
        "charter", "amend", str(charter), "--reason", "keep the baseline",
        "--key", str(cli.keys["governor"]),
    )  # fmt: skip
    admin = _ledger(cli)
    _sell(cli, admin, "2035-06-01", "--price", "545000")
    second = _sell(cli, admin, "2040-06-01", "--price", "700000")
    lines = second["explanation"]
    assert "K = 45000.00 (extra increase already assessed since the baseline)" in lines
    assert any(line.startswith("X = max(0, max(S, A) − E − C − K)") for line in lines)
    assert lines[-1] == "levy charged: 16500.00"


def test_disposal_mistakes_are_one_line_errors_and_change_nothing(cli_ledger: Any) -> None:
    cli = cli_ledger
    admin = _ledger(cli)
    db = Path(cli.env["COOPLEDGER_DB"])
    before = sqlite_dump(db)
    refused = cli(
        "property", "sell", "--id", "P-1", "--date", "2035-06-01", "--price", "0",
        "--disposal", "gift", "--deed", "d", *admin,
    )  # fmt: skip
    assert refused.code == 1
    assert refused.err.strip().splitlines() == [
        "coopledger: error: property P-1: a disposal of kind gift is levied on the appraised value: "
        "record an independent appraisal"
    ]
    usage = cli(
        "property", "sell", "--id", "P-1", "--date", "2035-06-01", "--price", "0",
        "--disposal", "swap", "--deed", "d", *admin,
    )  # fmt: skip
    assert usage.code == 2
    assert "'swap' is not one of" in usage.err
    assert "Traceback" not in refused.err + usage.err
    assert sqlite_dump(db) == before


def test_the_help_names_the_disposals_and_the_appraisal(cli: Any) -> None:
    text = " ".join(cli.ok("property", "sell", "--help").out.split())
    assert "--disposal [sale|gift|related-party-sale|share-deal|inheritance|divorce|" in text
    assert "required for a gift, related-party sale or share deal" in text


# -- shared appreciation (issue 12 point 5) ----------------------------------------------------


def test_shared_appreciation_help_says_the_appraisals_exclude_improvements(cli: Any) -> None:
    for command in (("share", "sell"), ("share", "buy-back")):
        text = " ".join(cli.ok(*command, "--help").out.split())
        assert "the appraised value in EUR on the date, EXCLUDING the owner's improvements" in text
        assert "an appraisal that includes them counts them twice" in text
    text = " ".join(cli.ok("dwelling", "register", "--help").out.split())
    assert "appraised value in EUR on the base date, EXCLUDING the owner's improvements" in text


def test_shared_appreciation_base_resets_at_resale_end_to_end(
    cli_ledger: Any, tmp_path: Path
) -> None:
    cli = cli_ledger
    coop, gov = ("--key", str(cli.keys["coop-admin"])), ("--key", str(cli.keys["governor"]))
    charter = tmp_path / "resets.toml"
    text = cli.ok("charter", "template").out.replace(
        'shared_appreciation_base = "stays"', 'shared_appreciation_base = "resets"'
    )
    charter.write_text(text, encoding="utf-8")
    cli.ok("charter", "amend", str(charter), "--reason", "Koopgarant-style resale", *gov)
    for member in ("M-1", "M-2"):
        cli.ok(
            "member", "admit", "--id", member, "--kind", "household", "--name", member,
            "--date", "2031-02-01", *coop,
        )  # fmt: skip
    cli.ok("fund", "deposit", "--amount", "100000", "--from", "GEM", "--date", "2031-04-01", *coop)
    registered = cli.ok(
        "dwelling", "register", "--id", "D-1", "--district", "Pampus-Haven",
        "--delivered", "2031-05-01", "--rule", "shared-appreciation", "--base-price", "150000",
        "--owner-share", "0.5", "--base-appraisal", "200000", *coop,
    ).out  # fmt: skip
    assert "base resets at resale" in registered

    def transfer(*args: str) -> str:
        return cli.ok("share", *args, *coop).out

    def papers(on: str, buyer: str | None = None) -> tuple[str, ...]:
        deed = ("--deed", f"deed-{buyer or 'back'}-{on}")
        if buyer is None:
            return deed
        return (*deed, "--declaration-date", on, "--declaration-ref", f"decl-{buyer}")

    transfer("sell", "--dwelling", "D-1", "--member", "M-1", "--date", "2031-05-01",
             "--appraisal", "200000", *papers("2031-05-01", "M-1"))  # fmt: skip
    back = transfer("buy-back", "--dwelling", "D-1", "--date", "2036-05-01",
                    "--appraisal", "254000", "--improvements", "14000",
                    *papers("2036-05-01"))  # fmt: skip
    assert "191000.00" in back
    transfer("sell", "--dwelling", "D-1", "--member", "M-2", "--date", "2036-05-02",
             "--appraisal", "254000", "--improvements", "14000",
             *papers("2036-05-02", "M-2"))  # fmt: skip
    # M-2's buy-back is priced from M-2's purchase: 191,000 + half of (300,000 - 254,000).
    last = transfer("buy-back", "--dwelling", "D-1", "--date", "2041-05-01",
                    "--appraisal", "300000", "--dry-run", *papers("2041-05-01"))  # fmt: skip
    assert "214000.00" in last
    cli.ok("verify")
