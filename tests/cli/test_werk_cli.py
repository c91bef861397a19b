"""The Werkcorporatie story through the CLI: workspaces, waiting list, grants, reports, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import sqlite_dump


def _refused(cli: Any, *args: str, message: str, code: int = 1) -> str:
    """Refused with one line naming the problem, and the database is byte-for-byte unchanged."""
    db = Path(cli.env["COOPLEDGER_DB"])
    before = sqlite_dump(db)
    result = cli(*args)
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.err
    assert "Traceback" not in result.err
    assert sqlite_dump(db) == before
    return lines[0]


@pytest.fixture
def werk(cli_ledger: Any) -> Any:
    """Three business members, admitted through the CLI."""
    cli = cli_ledger
    coop = str(cli.keys["coop-admin"])
    for mid, founded, district in [
        ("B-1", "2029-06-01", "Pampus-Haven"),
        ("B-2", "2030-03-01", "Pampus-Oost"),
        ("B-3", "2030-09-15", "Pampus-Centrum"),
    ]:
        cli.ok(
            "member", "admit", "--id", mid, "--kind", "business", "--name", f"Firm {mid}",
            "--founded", founded, "--district", district, "--date", "2031-02-01", "--key", coop,
        )  # fmt: skip
    cli.ok("member", "admit", "--id", "H-1", "--kind", "household", "--name", "Fam", "--key", coop)
    return cli


def test_the_werkcorporatie_story(werk: Any, tmp_path: Path) -> None:
    cli = werk
    wa, gov = str(cli.keys["werk-admin"]), str(cli.keys["governor"])

    # Workspaces: 60% of market rent is the cap (W-1: 240.00 x 80 / 12 x 60% = 960.00).
    for wid, district, area, rent in [
        ("W-1", "Pampus-Haven", "80", "240"),
        ("W-2", "Pampus-Centrum", "150", "220.00"),
        ("W-3", "Pampus-Oost", "40", "260"),
    ]:
        out = cli.ok(
            "workspace", "register", "--id", wid, "--district", district, "--area-m2", area,
            "--market-rent", rent, "--date", "2031-03-01", "--key", wa,
        ).out  # fmt: skip
        assert f"registered workspace {wid}" in out and "entry" in out
    listed = json.loads(cli.ok("workspace", "list", "--at", "2031-03-01", "--json").out)
    assert [(w["workspace_id"], w["rent_cap_cents_per_month"], w["member_id"]) for w in listed] == [
        ("W-1", 96000, None),
        ("W-2", 165000, None),
        ("W-3", 52000, None),
    ]
    assert "vacant" in cli.ok("workspace", "list", "--at", "2031-03-01").out

    # The waiting list, in order of application.
    for mid, low, high, on in [
        ("B-1", "60", "100", "2031-03-02"),
        ("B-2", "30", "160", "2031-03-03"),
        ("B-3", "30", "60", "2031-03-04"),
    ]:
        cli.ok(
            "lease", "apply", "--member", mid, "--min-m2", low, "--max-m2", high, "--date", on,
            "--key", wa,
        )  # fmt: skip
    queue = json.loads(cli.ok("lease", "queue", "--json").out)
    assert [(q["position"], q["member_id"]) for q in queue] == [(1, "B-1"), (2, "B-2"), (3, "B-3")]
    assert cli.ok("lease", "queue").out.splitlines()[0].split()[:2] == ["1.", "B-1"]

    # W-1 to B-1, first in the queue; its receipt is a C2SP tlog-proof file.
    receipt_file = tmp_path / "l1.proof"
    granted = json.loads(
        cli.ok(
            "lease", "grant", "--workspace", "W-1", "--member", "B-1", "--start", "2031-04-01",
            "--end", "2036-04-01", "--rent", "900", "--date", "2031-03-15", "--key", wa,
            "--receipt", str(receipt_file), "--json",
        ).out
    )  # fmt: skip
    first = f"L-{granted['entries'][0]['seq']}"
    assert granted["entries"][0]["kind"] == "lease.granted"
    assert receipt_file.read_text().startswith("c2sp.org/tlog-proof@v1")

    # W-3 (40 m2) fits B-2 first: granting it to B-3 needs an exception, by a governor.
    grant_w3 = [
        "lease", "grant", "--workspace", "W-3", "--member", "B-3", "--start", "2031-05-01",
        "--end", "2034-05-01", "--rent", "500", "--date", "2031-04-20",
    ]  # fmt: skip
    _refused(cli, *grant_w3, "--key", wa, message="B-2 is first in the queue")
    reason = "displaced by the Havenkade works"
    _refused(
        cli, *grant_w3, "--exception", reason, "--key", wa,
        message="lease.exception-granted: needs role governor",
    )  # fmt: skip
    _refused(cli, *grant_w3, "--exception", "  ", "--key", gov, message="reason")
    out = cli.ok(*grant_w3, "--exception", reason, "--key", gov).out
    assert "passing over B-2" in out and reason in out
    excepted = out.split("granted lease ")[1].split(":")[0]

    # Refusals name the value: rent cap, term, overlap, eligibility, amounts.
    grant_w2 = [
        "lease", "grant", "--workspace", "W-2", "--member", "B-2", "--start", "2031-06-01",
        "--date", "2031-05-10", "--key", wa,
    ]  # fmt: skip
    _refused(cli, *grant_w2, "--end", "2036-06-01", "--rent", "1650.01", message="cap 1650.00")
    _refused(cli, *grant_w2, "--end", "2036-06-02", "--rent", "1500", message="2036-06-01")
    _refused(cli, *grant_w2, "--end", "2036-06-01", "--rent", "12,50", message="'12,50'", code=2)
    _refused(cli, *grant_w2, "--end", "2036-13-01", "--rent", "1", message="2036-13-01", code=2)
    _refused(
        cli, "lease", "apply", "--member", "H-1", "--min-m2", "1", "--max-m2", "9", "--key", wa,
        message="'household'",
    )  # fmt: skip
    second = json.loads(cli.ok(*grant_w2, "--end", "2036-06-01", "--rent", "1500", "--json").out)
    second_id = f"L-{second['entries'][0]['seq']}"
    cli.ok(
        "lease", "apply", "--member", "B-3", "--min-m2", "100", "--max-m2", "200",
        "--date", "2031-06-01", "--key", wa,
    )  # fmt: skip
    _refused(
        cli, "lease", "grant", "--workspace", "W-2", "--member", "B-3", "--start", "2035-06-01",
        "--end", "2036-01-01", "--rent", "1000", "--key", wa, message=f"found lease {second_id}",
    )  # fmt: skip

    # Indexation (charter version 2): the ROZ formula on CPI, 900.00 x 104 / 100 = 936.00,
    # capped at 3% a year (927.00) and the rent cap (960.00); a lower typed rent is allowed.
    index = ["lease", "index", "--lease", first, "--date", "2032-04-01", "--key", wa]
    coop = str(cli.keys["coop-admin"])
    _refused(cli, *index, message="index CPI has no published value for 2031-12")
    for month, value in [("2030-12", "100"), ("2031-12", "104")]:
        cli.ok(
            "index", "publish", "--series", "CPI", "--month", month, "--value", value,
            "--source", "CBS 83131NED", "--key", coop,
        )  # fmt: skip
    _refused(cli, *index, "--rent", "927.01", message="highest indexed rent 927.00")
    out = cli.ok(*index, "--rent", "927").out
    assert "900.00 -> 927.00" in out and "gives 936.00" in out

    # An early end frees W-3 from its date on; a withdrawal empties the queue.
    end = ["lease", "end", "--lease", excepted, "--key", wa]
    _refused(cli, *end, "--date", "2034-05-02", "--reason", "x", message="agreed end 2034-05-01")
    cli.ok(*end, "--date", "2033-05-01", "--reason", "moved to a larger space")
    cli.ok("lease", "withdraw", "--member", "B-3", "--reason", "found space", "--key", wa)
    assert json.loads(cli.ok("lease", "queue", "--json").out) == []
    _refused(
        cli, "lease", "withdraw", "--member", "B-3", "--key", wa, message="no open application"
    )

    # Reports: the rent roll and occupancy at two dates.
    roll = json.loads(cli.ok("lease", "roll", "--at", "2033-04-30", "--json").out)
    assert [
        (r["lease_id"], r["rent_cents_per_month"], r["passed_over"]) for r in roll["leases"]
    ] == [
        (first, 92700, None),
        (excepted, 50000, "B-2"),
        (second_id, 150000, None),
    ]
    assert roll["total_rent_cents_per_month"] == 92700 + 50000 + 150000
    assert reason in cli.ok("lease", "roll", "--at", "2033-04-30").out
    occupancy = json.loads(cli.ok("workspace", "occupancy", "--at", "2033-05-01", "--json").out)
    assert (occupancy["occupied_m2"], occupancy["vacant_m2"], occupancy["vacant_workspaces"]) == (
        230,
        40,
        ["W-3"],
    )
    assert (occupancy["affordable_share"], occupancy["meets_target"]) == ("0.8519", True)
    wider = json.loads(
        cli.ok("workspace", "occupancy", "--at", "2033-05-01", "--total-m2", "2000", "--json").out
    )
    assert (wider["affordable_share"], wider["meets_target"]) == ("0.1150", False)
    assert (
        "below the target"
        in cli.ok("workspace", "occupancy", "--at", "2033-05-01", "--total-m2", "2000").out
    )

    # The tenants' histories show their leases; the passed-over applicant sees the exception.
    history = json.loads(cli.ok("member", "show", "B-2", "--json").out)["history"]
    assert "lease.exception-granted" in [h["kind"] for h in history]

    # The auditor: the database verifies, and so does an exported bundle, offline.
    assert "OK" in cli.ok("verify").out
    bundle = tmp_path / "bundle"
    cli.ok("bundle", "export", str(bundle))
    vkey = cli.ok("checkpoint", "--vkey").out.strip()
    assert "OK" in cli.ok("verify", "--bundle", str(bundle), "--trust", vkey).out


def test_werk_help_is_listed(cli: Any) -> None:
    out = cli.ok("--help").out
    assert "workspace" in out and "lease" in out
    assert "--exception" in cli.ok("lease", "grant", "--help").out


def test_a_lease_at_the_rent_cap_is_indexed_after_a_revaluation(werk: Any) -> None:
    """Defect (d): a lease granted at the rent cap could never be indexed; a revaluation of
    the market rent (with its source) lifts the cap for the indexation."""
    cli = werk
    wa, coop = str(cli.keys["werk-admin"]), str(cli.keys["coop-admin"])
    cli.ok(
        "workspace", "register", "--id", "W-1", "--district", "Pampus-Haven", "--area-m2", "80",
        "--market-rent", "240", "--date", "2031-03-01", "--key", wa,
    )  # fmt: skip
    cli.ok(
        "lease", "apply", "--member", "B-1", "--min-m2", "60", "--max-m2", "100",
        "--date", "2031-03-02", "--key", wa,
    )  # fmt: skip
    granted = json.loads(
        cli.ok(
            "lease", "grant", "--workspace", "W-1", "--member", "B-1", "--start", "2031-04-01",
            "--end", "2036-04-01", "--rent", "960", "--type", "7:290", "--date", "2031-03-15",
            "--key", wa, "--json",
        ).out
    )  # fmt: skip
    lease_id = f"L-{granted['entries'][0]['seq']}"
    for month, value in [("2030-12", "100"), ("2031-12", "102.5")]:
        cli.ok(
            "index", "publish", "--series", "CPI", "--month", month, "--value", value,
            "--source", "CBS", "--key", coop,
        )  # fmt: skip
    index = ["lease", "index", "--lease", lease_id, "--date", "2032-04-01", "--key", wa]
    # At the cap: the highest indexed rent is the cap itself, 960.00.
    _refused(cli, *index, "--rent", "960.01", message="rent cap 960.00")
    revalue = [
        "workspace", "revalue", "--id", "W-1", "--market-rent", "250", "--date", "2032-01-01",
        "--key", wa,
    ]  # fmt: skip
    _refused(cli, *revalue, message="--source", code=2)
    _refused(
        cli, "workspace", "revalue", "--id", "W-1", "--market-rent", "250", "--date",
        "2031-02-01", "--source", "x", "--key", wa, message="expected a revaluation dated after",
    )  # fmt: skip
    out = cli.ok(*revalue, "--source", "Taxatie Havenkade 2031").out
    assert "market rent 250.00 per m2 per year from 2032-01-01" in out
    listed = json.loads(cli.ok("workspace", "list", "--at", "2032-01-01", "--json").out)
    assert listed[0]["rent_cap_cents_per_month"] == 100000
    # 960.00 x 102.5 / 100 = 984.00, under the 3% ceiling 988.80 and the new cap 1000.00.
    out = cli.ok(*index).out
    assert "960.00 -> 984.00" in out
    roll = json.loads(cli.ok("lease", "roll", "--at", "2032-04-01", "--json").out)
    assert [(r["lease_type"], r["end"], r["rent_cap_cents_per_month"]) for r in roll["leases"]] == [
        ("7:290", "2041-04-01", 100000)
    ]
    assert "OK" in cli.ok("verify").out
