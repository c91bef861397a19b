"""The share story end to end through the CLI: charter, members, dwellings, index values, fund,
sale, resale, register, correction, bundle export and offline verification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.charter import TEMPLATE

# What an edition-2 sale names: the notarial deed and the buyer's self-occupation declaration.
PAPERS = ("--deed", "AKTE-1", "--declaration-date", "2031-05-01", "--declaration-ref", "V-1")


def _json(result: Any) -> Any:
    return json.loads(result.out)


def _size(cli: Any) -> int:
    return len(_json(cli.ok("log", "--json")))


def test_the_share_story(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    admin = ["--key", str(cli.keys["coop-admin"])]
    governor = ["--key", str(cli.keys["governor"])]

    # The charter: at most one dwelling share per member, rounded half-up to the cent.
    charter = _json(cli.ok("charter", "show", "--json"))["charter"]
    assert charter["shares"]["max_dwelling_shares_per_member"] == 1
    assert charter["cooperative"]["rounding"] == "half-up"

    for member_id, name in (
        ("M-42", "Familie Jansen"),
        ("M-43", "Familie Bakker"),
        ("M-44", "Familie Yilmaz"),
    ):
        cli.ok(
            "member",
            "admit",
            "--id",
            member_id,
            "--kind",
            "household",
            "--name",
            name,
            "--date",
            "2031-02-01",
            *admin,
        )

    # Dwellings under three rules (DOMAIN.md's worked examples), then a charter amendment:
    # D-19, registered after it, truncates; D-18, registered before, keeps rounding half-up.
    cli.ok(
        "dwelling",
        "register",
        "--id",
        "D-17",
        "--address",
        "Havenkade 17",
        "--district",
        "Pampus-Haven",
        "--delivered",
        "2021-05-01",
        "--rule",
        "fixed-rate",
        "--base-price",
        "250000",
        "--rate",
        "0.02",
        "--compounding",
        "simple",
        *admin,
    )
    cli.ok(
        "dwelling",
        "register",
        "--id",
        "D-18",
        "--district",
        "Pampus-Centrum",
        "--delivered",
        "2021-05-01",
        "--rule",
        "indexed",
        "--index",
        "CPI",
        "--base-price",
        "250000",
        *admin,
    )
    (tmp_path / "truncate.toml").write_text(
        TEMPLATE.replace('rounding = "half-up"', 'rounding = "truncate"'), encoding="utf-8"
    )
    cli.ok("charter", "amend", "truncate.toml", "--reason", "as the levy authority does", *governor)
    cli.ok(
        "dwelling",
        "register",
        "--id",
        "D-19",
        "--district",
        "Pampus-Oost",
        "--delivered",
        "2021-05-01",
        "--rule",
        "indexed",
        "--base-price",
        "250000",
        *admin,
    )
    listed = _json(cli.ok("dwelling", "list", "--json"))
    assert [(d["dwelling_id"], d["rule"], d["holder"]) for d in listed] == [
        ("D-17", "fixed-rate", "cooperative"),
        ("D-18", "indexed", "cooperative"),
        ("D-19", "indexed", "cooperative"),
    ]

    for month, value in (("2021-05", "130000"), ("2031-05", "150000"), ("2034-06", "156000")):
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
            "CBS StatLine 83131NED (placeholder)",
            *admin,
        )
    cli.ok(
        "fund",
        "deposit",
        "--amount",
        "100000",
        "--from",
        "GEM",
        "--note",
        "start capital",
        "--date",
        "2031-04-01",
        *admin,
    )

    # A dry run prints the price and its computation and appends nothing.
    before = _size(cli)
    dry = cli.ok(
        "share",
        "sell",
        "--dwelling",
        "D-17",
        "--member",
        "M-42",
        "--date",
        "2031-05-01",
        "--dry-run",
        *PAPERS,
        *admin,
    ).out
    assert "price: 300000.00" in dry and "n = 10 whole years" in dry
    assert "nothing was appended" in dry
    assert _size(cli) == before

    sold = cli.ok(
        "share", "sell", "--dwelling", "D-17", "--member", "M-42", "--date", "2031-05-01",
        *PAPERS, *admin,
    ).out  # fmt: skip
    assert "sold dwelling D-17's share to M-42 on 2031-05-01 for 300000.00" in sold
    cli.ok(
        "share", "sell", "--dwelling", "D-18", "--member", "M-43", "--date", "2031-05-01",
        *PAPERS, *admin,
    )  # fmt: skip
    d18 = _json(cli.ok("dwelling", "show", "D-18", "--json"))
    assert (d18["holder"], d18["price_paid_cents"]) == ("M-43", 288_461_54)
    explained = _json(
        cli.ok("price", "explain", "--dwelling", "D-19", "--date", "2031-05-01", "--json")
    )
    assert explained["price_cents"] == 288_461_53
    assert explained["inputs"]["rounding"] == "truncate"
    assert explained["steps"][-1] == "rounded truncate to the cent: 288461.53"

    # A held share is not sold again, and no command takes a price.
    refused = cli(
        "share", "sell", "--dwelling", "D-17", "--member", "M-44", "--date", "2031-06-01", *admin
    )
    assert refused.code == 1
    assert "dwelling D-17: share is held by M-42 since 2031-05-01" in refused.err
    assert (
        cli(
            "share",
            "sell",
            "--dwelling",
            "D-17",
            "--member",
            "M-44",
            "--date",
            "2031-06-01",
            "--price",
            "1",
            *admin,
        ).code
        == 2
    )

    # The resale: M-42 sells back at the preset price on that date; the next household buys.
    cli.ok(
        "share", "buy-back", "--dwelling", "D-17", "--date", "2034-06-15", "--deed", "AKTE-2",
        *admin,
    )  # fmt: skip
    cli.ok(
        "share", "sell", "--dwelling", "D-17", "--member", "M-44", "--date", "2034-06-15",
        *PAPERS, *admin,
    )  # fmt: skip
    now = {r["dwelling_id"]: r for r in _json(cli.ok("share", "register", "--json"))}
    assert (now["D-17"]["holder"], now["D-17"]["since"], now["D-17"]["price_paid_cents"]) == (
        "M-44",
        "2034-06-15",
        315_000_00,  # 250,000 × (1 + 0.02 × 13)
    )
    then = {
        r["dwelling_id"]: r
        for r in _json(cli.ok("share", "register", "--at", "2033-01-01", "--json"))
    }
    assert (then["D-17"]["holder"], then["D-17"]["price_paid_cents"]) == ("M-42", 300_000_00)
    assert then["D-19"]["holder"] == "cooperative"

    # Corrections: D-18 was sold to the wrong household; D-17's first sale can no longer go.
    log = _json(cli.ok("log", "--json", "--kind", "share.sold"))
    first_d17, d18_sale = log[0]["seq"], log[1]["seq"]
    fixed = cli.ok("correct", str(d18_sale), "--reason", "wrong household", *governor).out
    assert f"corrected entry {d18_sale} (share.sold): wrong household" in fixed
    correction = _json(cli.ok("log", "--json", "--kind", "correction.applied"))[0]["seq"]
    late = cli("correct", str(first_d17), "--reason", "too late", *governor)
    assert late.code == 1
    assert f"entry {first_d17} (share.sold) cannot be reversed" in late.err
    assert "correct that entry first" in late.err
    assert cli("correct", str(d18_sale), "--reason", "again", *admin).code == 1

    d17 = cli.ok("dwelling", "show", "D-17").out
    assert "sold to M-42 for 300000.00" in d17 and "bought back from M-42 for 315000.00" in d17
    d18_text = cli.ok("dwelling", "show", "D-18").out
    assert f"[corrected at entry {correction}]" in d18_text
    assert f"corrects entry {d18_sale}" in d18_text
    member = _json(cli.ok("member", "show", "M-43", "--json"))
    assert member["holdings"] == {}
    assert [h["kind"] for h in member["history"]] == [
        "member.admitted",
        "share.sold",
        "correction.applied",
    ]
    holder = _json(cli.ok("member", "show", "M-44", "--json"))
    assert list(holder["holdings"]) == ["D-17"]

    fund = _json(cli.ok("fund", "show", "--json"))
    # 100,000 deposited + 300,000 + 288,461.54 - 288,461.54 (corrected) - 315,000 + 315,000
    assert fund["balance_cents"] == 400_000_00
    assert fund["movements"][-1]["balance_cents"] == fund["balance_cents"]

    # A published index value is replaced only by a governor; both values stay visible.
    cli.ok(
        "index",
        "correct",
        "--series",
        "CPI",
        "--month",
        "2034-06",
        "--value",
        "156.5",
        "--source",
        "CBS revision",
        "--reason",
        "rebased series",
        *governor,
    )
    shown = cli.ok("index", "show", "--series", "CPI").out
    assert "156.5" in shown and "from 156000 to 156.5: rebased series" in shown

    # The auditor's view: export, then verify offline against the pinned log key.
    assert "OK" in cli.ok("verify").out
    vkey = cli.ok("checkpoint", "--vkey").out.strip()
    cli.ok("bundle", "export", "audit")
    report = _json(cli.ok("verify", "--bundle", "audit", "--trust", vkey, "--json"))
    assert report["ok"] is True and report["entries"] == _size(cli)


def test_user_mistakes_are_one_line_errors(cli_ledger: Any) -> None:
    cli = cli_ledger
    admin = ["--key", str(cli.keys["coop-admin"])]
    cases = [
        (
            [
                "dwelling",
                "register",
                "--id",
                "D-1",
                "--district",
                "Pampus-Haven",
                "--delivered",
                "2031-01-01",
                "--base-price",
                "12.345",
            ],
            "--base-price '12.345' has more than two decimals",
        ),
        (
            [
                "dwelling",
                "register",
                "--id",
                "D 1",
                "--district",
                "Pampus-Haven",
                "--delivered",
                "2031-01-01",
                "--base-price",
                "1000",
            ],
            "--id 'D 1' must be 1-64 letters",
        ),
        (
            [
                "dwelling",
                "register",
                "--id",
                "D-1",
                "--district",
                "Pampus-Haven",
                "--delivered",
                "2031-01-01",
                "--base-price",
                "1000",
                "--rule",
                "fixed-rate",
                "--rate",
                "two percent",
            ],
            "--rate 'two percent' is not a plain decimal number",
        ),
        (
            [
                "index",
                "publish",
                "--series",
                "CPI",
                "--month",
                "2031-13",
                "--value",
                "1",
                "--source",
                "x",
            ],
            "--month '2031-13' is not a month (YYYY-MM)",
        ),
        (
            ["fund", "deposit", "--amount", "-5", "--from", "GEM"],
            "amount '-5' is not a plain decimal number",
        ),
        (
            ["share", "sell", "--dwelling", "D-9", "--member", "M-1", "--date", "2031-01-01"],
            "unknown dwelling D-9",
        ),
        (
            ["share", "buy-back", "--dwelling", "D-9", "--date", "yesterday"],
            "--date 'yesterday' is not a date",
        ),
        (["price", "explain", "--dwelling", "D-9", "--date", "2031-01-01"], "unknown dwelling D-9"),
    ]
    for args, message in cases:
        result = cli(*args, *admin) if args[0] != "price" else cli(*args)
        # A malformed option value is a usage error; what the ledger refuses exits 1.
        assert result.code == (1 if message.startswith("unknown") else 2), (args, result)
        assert message in result.err, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1, result.err
