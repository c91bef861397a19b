"""Money by date, the owner's offer, the resale at the notary and people-only home shares,
end to end through the CLI (issue 12 points 1-3, charter version 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import sqlite_dump


def _json(result: Any) -> Any:
    return json.loads(result.out)


def test_money_by_date_offer_and_resale(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    db = tmp_path / "ledger.db"
    admin = ["--key", str(cli.keys["coop-admin"])]
    for member_id, kind in (("M-1", "household"), ("M-2", "person"), ("B-1", "business")):
        cli.ok("member", "admit", "--id", member_id, "--kind", kind, "--name", member_id,
               "--date", "2031-02-01", *admin)  # fmt: skip
    cli.ok("dwelling", "register", "--id", "D-1", "--district", "Pampus-Haven",
           "--delivered", "2031-05-01", "--rule", "fixed-rate", "--base-price", "250000",
           "--rate", "0.02", "--compounding", "compound", *admin)  # fmt: skip

    # (e) a company cannot buy a home share; a sale names its deed and the declaration.
    papers = ["--deed", "AKTE-2031-17", "--declaration-date", "2031-04-20",
              "--declaration-ref", "ZB-2031-17"]  # fmt: skip
    sell = ["share", "sell", "--dwelling", "D-1", "--date", "2031-05-01"]
    company = cli(*sell, "--member", "B-1", *papers, *admin)
    assert company.code == 1
    assert company.err.strip() == (
        "coopledger: error: sale of dwelling D-1's share to B-1: member B-1 is a business; the "
        "charter (entry 0) gives home shares only to person, household"
    )
    no_deed = cli(*sell, "--member", "M-1", *papers[2:], *admin)
    assert no_deed.code == 1 and "the notarial deed reference is missing" in no_deed.err
    cli.ok("fund", "deposit", "--amount", "100000", "--from", "GEM", "--date", "2040-01-01",
           *admin)  # fmt: skip
    cli.ok(*sell, "--member", "M-1", *papers, *admin)
    sold = json.loads(cli.ok("log", "--json").out)[-1]
    assert sold["kind"] == "share.sold"

    # (a) the deposit dated 2040 does not pay a buy-back in 2035: refused, ledger unchanged.
    before = sqlite_dump(db)
    refused = cli("share", "buy-back", "--dwelling", "D-1", "--date", "2035-05-01",
                  "--deed", "AKTE-2035-1", *admin)  # fmt: skip
    assert refused.code == 1
    assert refused.err.strip() == (
        "coopledger: error: buy-back of dwelling D-1's share from M-1: the fund would hold "
        "-20608.04 on 2035-05-01, short by 20608.04"
    )
    assert sqlite_dump(db) == before

    # The owner's offer and its deadline (charter: 3 months); overdue once the deadline passed.
    offered = cli.ok("share", "offer", "--dwelling", "D-1", "--date", "2035-03-01", *admin)
    assert "buy back or resell by 2035-06-01" in offered.out
    open_ = _json(cli.ok("share", "offers", "--at", "2035-06-11", "--json"))
    assert [(o["dwelling_id"], o["member_id"], o["deadline"], o["overdue"]) for o in
            open_["offers"]] == [("D-1", "M-1", "2035-06-01", True)]  # fmt: skip
    text = cli.ok("share", "offers", "--at", "2035-06-11").out
    assert "OVERDUE by 10 days" in text
    assert "OVERDUE" not in cli.ok("share", "offers", "--at", "2035-05-01").out

    # (b) the resale at the notary: one entry, the buyer's money pays the seller.
    missing = cli("share", "resale", "--dwelling", "D-1", "--to", "M-2", "--date", "2035-05-01",
                  *admin)  # fmt: skip
    assert missing.code == 2 and "--deed" in missing.err
    resold = cli.ok("share", "resale", "--dwelling", "D-1", "--to", "M-2", "--date", "2035-05-01",
                    "--deed", "AKTE-2035-2", "--declaration-date", "2035-04-28",
                    "--declaration-ref", "ZB-2035-2", *admin).out  # fmt: skip
    assert "resold dwelling D-1's share from M-1 to M-2 on 2035-05-01 (deed AKTE-2035-2)" in resold
    assert "bought back for 270608.04, sold for 270608.04" in resold
    assert _json(cli.ok("share", "offers", "--at", "2035-06-11", "--json"))["offers"] == []
    d1 = _json(cli.ok("dwelling", "show", "D-1", "--json"))
    assert (d1["holder"], d1["price_paid_cents"]) == ("M-2", 270_608_04)

    # `fund show --at`: the balance at the end of a date, movements by effective date.
    at_2039 = _json(cli.ok("fund", "show", "--at", "2039-12-31", "--json"))
    assert at_2039["balance_cents"] == 250_000_00
    assert [m["effective"] for m in at_2039["movements"]] == ["2031-05-01"]
    everything = _json(cli.ok("fund", "show", "--json"))
    assert everything["balance_cents"] == 350_000_00
    assert [(m["effective"], m["balance_cents"]) for m in everything["movements"]] == [
        ("2031-05-01", 250_000_00),
        ("2040-01-01", 350_000_00),
    ]
    assert (
        "fund balance at the end of 2039-12-31: 250000.00"
        in cli.ok("fund", "show", "--at", "2039-12-31").out
    )
    bad = cli("fund", "show", "--at", "someday")
    assert bad.code == 2 and "--at 'someday' is not a date" in bad.err
    assert "OK" in cli.ok("verify").out
