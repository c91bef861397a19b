"""Plausibility end to end through the CLI (charter version 2): ids across kinds, index values
beyond the month-on-month bound, rates above the charter's maximum. Each refusal is one line
naming the value, exit 1, and the ledger unchanged."""

from __future__ import annotations

import json
from typing import Any


def _size(cli: Any) -> int:
    return len(json.loads(cli.ok("log", "--json").out))


def _refused(cli: Any, args: list[str], phrase: str) -> None:
    before = _size(cli)
    result = cli(*args)
    assert result.code == 1, (result.out, result.err)
    assert phrase in result.err, result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert _size(cli) == before


def test_an_id_names_one_thing_across_kinds(cli_ledger: Any) -> None:
    cli = cli_ledger
    admin = ["--key", str(cli.keys["coop-admin"])]
    werk = ["--key", str(cli.keys["werk-admin"])]
    cli.ok(
        "dwelling", "register", "--id", "W-1", "--district", "Pampus-Haven",
        "--delivered", "2031-02-01", "--rule", "nominal", "--base-price", "250000", *admin,
    )  # fmt: skip
    _refused(
        cli,
        ["workspace", "register", "--id", "W-1", "--district", "Pampus-Haven", "--area-m2", "50",
         "--market-rent", "200", "--date", "2031-03-01", *werk],
        "workspace W-1: id W-1 is already dwelling W-1",
    )  # fmt: skip
    _refused(
        cli,
        ["member", "admit", "--id", "W-1", "--kind", "person", "--name", "X", *admin],
        "member W-1: id W-1 is already dwelling W-1",
    )
    cli.ok(
        "workspace", "register", "--id", "W-2", "--district", "Pampus-Haven", "--area-m2", "50",
        "--market-rent", "200", "--date", "2031-03-01", *werk,
    )  # fmt: skip
    assert "OK" in cli.ok("verify").out


def test_an_index_jump_needs_a_governor(cli_ledger: Any) -> None:
    cli = cli_ledger
    admin = ["--key", str(cli.keys["coop-admin"])]
    governor = ["--key", str(cli.keys["governor"])]

    def publish(month: str, value: str, *extra: str) -> list[str]:
        return ["index", "publish", "--series", "CPI", "--month", month, "--value", value,
                "--source", "CBS", *extra]  # fmt: skip

    cli.ok(*publish("2031-01", "100", *admin))
    cli.ok(*publish("2031-02", "119.5", *admin))
    _refused(
        cli,
        publish("2031-03", "0.000000000001", *admin),
        "index CPI 2031-03: 119.5 (2031-02) to 0.000000000001 (2031-03) is -100.00% in a "
        "month, beyond the charter's plausibility.index_monthly_change of 20% a month",
    )
    # The same value with a reason is the governor's: an administrator's key cannot sign it.
    _refused(
        cli, publish("2031-03", "150", "--reason", "CBS revision", *admin), "needs role governor"
    )
    out = cli.ok(*publish("2031-03", "150", "--reason", "CBS revision", *governor)).out
    assert "entry" in out
    shown = cli.ok("index", "show", "--series", "CPI").out
    assert "published by a governor, beyond the bound: CBS revision" in shown
    kinds = [e["kind"] for e in json.loads(cli.ok("log", "--json").out)]
    assert kinds[-1] == "index.exception-published"
    assert "OK" in cli.ok("verify").out


def test_a_fixed_rate_above_the_charters_maximum_is_refused(cli_ledger: Any) -> None:
    cli = cli_ledger
    admin = ["--key", str(cli.keys["coop-admin"])]
    register = ["dwelling", "register", "--id", "D-1", "--district", "Pampus-Haven",
                "--delivered", "2031-02-01", "--rule", "fixed-rate", "--compounding", "simple",
                "--base-price", "250000"]  # fmt: skip
    _refused(
        cli,
        [*register, "--rate", "1000", *admin],
        "dwelling D-1: rate 1000 is above the charter's plausibility.max_rate 0.10",
    )
    cli.ok(*register, "--rate", "0.10", *admin)
    assert "OK" in cli.ok("verify").out
